"""The llama.cpp side of the ``llama-cpp`` conformance backend: greedy decoding with control vectors.

Runs as a child process in the environment that has ``llama_cpp`` (llama-cpp-python, built by
``scripts/build_llama_cpp.sh``), started by :mod:`steering_core.conformance.llama_cpp_adapter`
as ``python llama_cpp_worker.py``. It imports only ``llama_cpp``, ``numpy`` and the standard
library (never torch or the rest of ``steering_core``), and speaks JSON lines: one request object
per line on stdin, one reply per line on stdout (``{"ok": true, ...}`` or ``{"ok": false,
"error": "..."}``); llama.cpp's own log goes to stderr.

Operations (``"op"``):

``init``    ``{"model": GGUF, "n_seq_max": int, "n_ctx_seq": int, "threads": int}``: loads the
            model with llama.cpp's defaults except: F32 KV cache (``type_k``/``type_v``), flash
            attention off, one unified KV buffer for all sequences. Replies n_layer, n_embd, n_vocab.
``generate`` ``{"rows": [[token ids], ...], "terms": [[control-vector GGUF, strength, positions],
            ...], "max_new_tokens": int, "eos": [ids]}``: the rows share one plan and run as one
            batch of llama.cpp sequences (no padding: each sequence has its own positions).
            Replies the greedy new token ids per row, cut before the first EOS id.
``state``   what steering could leave behind here: the control vector in force and every
            sequence's highest KV-cache position (-1 when empty).

Steering is llama.cpp's control-vector mechanism, the way ``llama-cli --control-vector-scaled
FILE STRENGTH`` uses it: each file is read with llama.cpp's *own* GGUF parser
(``gguf_init_from_file`` in libggml-base, through ctypes) under ``common_control_vector_load_one``'s
rules (``general.architecture`` is ``controlvector``; every tensor is 1-D F32 ``direction.<n>``
with ``n >= 1``), and the buffer passed to ``llama_set_adapter_cvec`` holds at slot ``n - 1`` the
sum over the files of ``float32(strength) * direction.n``; llama.cpp adds slot ``il - 1`` to the
output of decoder layer ``il`` for every token of every decode call. The layer a direction
steers is therefore decided by the number in the file, as in llama.cpp. Positions are honoured
by switching the control vector between decode calls: the prompt call uses the terms with
positions ``all``/``prompt``, every later call (from the first generated token fed back) those
with ``all``/``generated``. The buffer always covers every
layer 1..n_layer-1 (llama.cpp leaves a layer's old direction in place when a shorter buffer is
passed), and after each ``generate`` the control vector is cleared and the KV cache emptied.
"""

from __future__ import annotations

import ctypes
import json
import sys
from pathlib import Path
from typing import Any

import llama_cpp
import numpy as np

GGML_TYPE_F32 = 0
UBATCH = 512
POSITIONS = ("all", "prompt", "generated")
PHASES = {"prompt": ("all", "prompt"), "generated": ("all", "generated")}


class WorkerError(Exception):
    """A request this worker refuses (reported to the adapter, never a crash)."""


class _GgufInitParams(ctypes.Structure):
    _fields_ = [("no_alloc", ctypes.c_bool), ("ctx", ctypes.c_void_p)]


def _ggml_base() -> ctypes.CDLL:
    lib_dir = Path(llama_cpp.__file__).resolve().parent / "lib"
    for name in ("libggml-base.so", "libggml-base.dylib", "ggml-base.dll", "libggml.so"):
        if (lib_dir / name).exists():
            lib = ctypes.CDLL(str(lib_dir / name))
            if hasattr(lib, "gguf_init_from_file"):
                return lib
    raise WorkerError(f"no ggml library with gguf_init_from_file in {lib_dir}")


def read_control_vector(path: str) -> dict[int, np.ndarray]:
    """``direction.<n>`` tensors by ``n``, read with llama.cpp's GGUF parser (see the module docstring)."""
    lib = _ggml_base()
    lib.gguf_init_from_file.restype = ctypes.c_void_p
    lib.gguf_init_from_file.argtypes = [ctypes.c_char_p, _GgufInitParams]
    lib.gguf_find_key.restype = ctypes.c_int64
    lib.gguf_find_key.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.gguf_get_val_str.restype = ctypes.c_char_p
    lib.gguf_get_val_str.argtypes = [ctypes.c_void_p, ctypes.c_int64]
    lib.gguf_get_n_tensors.restype = ctypes.c_int64
    lib.gguf_get_n_tensors.argtypes = [ctypes.c_void_p]
    lib.gguf_get_tensor_name.restype = ctypes.c_char_p
    lib.gguf_get_tensor_name.argtypes = [ctypes.c_void_p, ctypes.c_int64]
    lib.gguf_get_tensor_type.restype = ctypes.c_int
    lib.gguf_get_tensor_type.argtypes = [ctypes.c_void_p, ctypes.c_int64]
    lib.gguf_get_tensor_offset.restype = ctypes.c_size_t
    lib.gguf_get_tensor_offset.argtypes = [ctypes.c_void_p, ctypes.c_int64]
    lib.gguf_get_tensor_size.restype = ctypes.c_size_t
    lib.gguf_get_tensor_size.argtypes = [ctypes.c_void_p, ctypes.c_int64]
    lib.gguf_get_data_offset.restype = ctypes.c_size_t
    lib.gguf_get_data_offset.argtypes = [ctypes.c_void_p]
    lib.gguf_free.argtypes = [ctypes.c_void_p]

    ctx = lib.gguf_init_from_file(path.encode(), _GgufInitParams(True, None))
    if not ctx:
        raise WorkerError(f"llama.cpp's GGUF parser refused {path}")
    directions: dict[int, np.ndarray] = {}
    try:
        key = lib.gguf_find_key(ctx, b"general.architecture")
        arch = lib.gguf_get_val_str(ctx, key).decode() if key >= 0 else None
        if arch != "controlvector":
            raise WorkerError(f"{path}: general.architecture is {arch!r}, llama.cpp needs 'controlvector'")
        data_offset = lib.gguf_get_data_offset(ctx)
        with open(path, "rb") as handle:
            for i in range(lib.gguf_get_n_tensors(ctx)):
                name = lib.gguf_get_tensor_name(ctx, i).decode()
                prefix, _, index = name.partition(".")
                if prefix != "direction" or not index.isdigit() or int(index) < 1:
                    raise WorkerError(f"{path}: invalid direction tensor {name!r} (llama.cpp refuses it)")
                if lib.gguf_get_tensor_type(ctx, i) != GGML_TYPE_F32:
                    raise WorkerError(f"{path}: {name} is not F32 (llama.cpp refuses it)")
                handle.seek(data_offset + lib.gguf_get_tensor_offset(ctx, i))
                raw = handle.read(lib.gguf_get_tensor_size(ctx, i))
                directions[int(index)] = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    finally:
        lib.gguf_free(ctx)
    if not directions:
        raise WorkerError(f"{path}: no direction tensor")
    return directions


def _silence(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
    return None


class Worker:
    """One llama.cpp model and context, and the control vectors loaded so far."""

    def __init__(self) -> None:
        self.ctx: Any = None
        self.model: Any = None
        self.files: dict[str, dict[int, np.ndarray]] = {}
        self.n_layer = 0
        self.n_embd = 0
        self.n_vocab = 0
        self.n_seq_max = 0
        self.n_ctx_seq = 0
        self.cvec: str | None = None

    # -- operations ------------------------------------------------------------------------
    def init(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.ctx is not None:
            raise WorkerError("init: already initialised")
        llama_cpp.llama_backend_init()
        mparams = llama_cpp.llama_model_default_params()
        mparams.n_gpu_layers = 0
        self.model = llama_cpp.llama_model_load_from_file(str(request["model"]).encode(), mparams)
        if not self.model:
            raise WorkerError(f"llama.cpp could not load {request['model']}")
        self.n_seq_max = int(request["n_seq_max"])
        self.n_ctx_seq = int(request["n_ctx_seq"])
        threads = int(request["threads"])
        cparams = llama_cpp.llama_context_default_params()
        cparams.n_ctx = self.n_seq_max * self.n_ctx_seq
        cparams.n_batch = cparams.n_ctx  # a whole batch of prompts in one llama_decode call
        cparams.n_ubatch = min(UBATCH, cparams.n_ctx)
        cparams.n_outputs_max = self.n_seq_max  # logits only for each row's last token
        cparams.n_seq_max = self.n_seq_max
        cparams.n_threads = threads
        cparams.n_threads_batch = threads
        cparams.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        cparams.type_k = llama_cpp.GGML_TYPE_F32
        cparams.type_v = llama_cpp.GGML_TYPE_F32
        cparams.kv_unified = True
        cparams.no_perf = True
        self.ctx = llama_cpp.llama_init_from_model(self.model, cparams)
        if not self.ctx:
            raise WorkerError("llama.cpp could not create a context")
        self.n_layer = int(llama_cpp.llama_model_n_layer(self.model))
        self.n_embd = int(llama_cpp.llama_model_n_embd(self.model))
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(llama_cpp.llama_model_get_vocab(self.model)))
        return {
            "llama_cpp_version": llama_cpp.__version__,
            "n_layer": self.n_layer,
            "n_embd": self.n_embd,
            "n_vocab": self.n_vocab,
            "n_ctx": int(llama_cpp.llama_n_ctx(self.ctx)),
        }

    def _directions(self, path: str) -> dict[int, np.ndarray]:
        """The directions of one control-vector file (parsed once per path)."""
        if path not in self.files:
            directions = read_control_vector(path)
            for index, values in directions.items():
                if values.shape != (self.n_embd,):
                    raise WorkerError(
                        f"{path}: direction.{index} has {values.shape[0]} values, not n_embd {self.n_embd}"
                    )
                if index >= self.n_layer:
                    # llama_set_adapter_cvec copies slots for layers 1..n_layer-1 only: refuse
                    # instead of letting llama.cpp ignore the direction silently
                    raise WorkerError(
                        f"{path}: direction.{index}, but the model's control-vector layers are 1..{self.n_layer - 1}"
                    )
            self.files[path] = directions
        return self.files[path]

    def state(self, request: dict[str, Any]) -> dict[str, Any]:
        memory = llama_cpp.llama_get_memory(self.ctx)
        pos_max = [int(llama_cpp.llama_memory_seq_pos_max(memory, s)) for s in range(self.n_seq_max)]
        return {"cvec": self.cvec, "pos_max": pos_max}

    def generate(self, request: dict[str, Any]) -> dict[str, Any]:
        rows = [[int(t) for t in row] for row in request["rows"]]
        terms = [(str(path), float(strength), str(p)) for path, strength, p in request["terms"]]
        max_new = int(request["max_new_tokens"])
        eos = {int(t) for t in request["eos"]}
        if not 1 <= len(rows) <= self.n_seq_max:
            raise WorkerError(f"rows: 1..{self.n_seq_max} per call, got {len(rows)}")
        for row in rows:
            if not row or len(row) + max_new > self.n_ctx_seq:
                raise WorkerError(f"a row of {len(row)} tokens + {max_new} new exceeds n_ctx_seq {self.n_ctx_seq}")
            if any(not 0 <= t < self.n_vocab for t in row):
                raise WorkerError(f"token ids must be in [0, {self.n_vocab})")
        buffers = {phase: self._buffer(terms, allowed) for phase, allowed in PHASES.items()}
        try:
            return {"tokens": self._decode(rows, buffers, max_new, eos)}
        finally:
            self._apply(None, None)
            llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self.ctx), True)

    # -- steering --------------------------------------------------------------------------
    def _buffer(self, terms: list[tuple[str, float, str]], allowed: tuple[str, ...]) -> np.ndarray | None:
        """The control-vector buffer of one phase (None: no term steers in it)."""
        for path, strength, positions in terms:
            if positions not in POSITIONS:
                raise WorkerError(f"positions: one of {POSITIONS}, got {positions!r}")
            if not np.isfinite(strength):
                raise WorkerError(f"strength must be finite, got {strength!r}")
            self._directions(path)
        chosen = [t for t in terms if t[2] in allowed]
        if not chosen:
            return None
        buffer = np.zeros(self.n_embd * (self.n_layer - 1), dtype=np.float32)
        for path, strength, _ in chosen:
            for index, values in self._directions(path).items():
                start = self.n_embd * (index - 1)
                buffer[start : start + self.n_embd] += values * np.float32(strength)
        return buffer

    def _apply(self, buffer: np.ndarray | None, label: str | None) -> None:
        if buffer is None:
            rc = llama_cpp.llama_set_adapter_cvec(self.ctx, None, 0, self.n_embd, -1, -1)
        else:
            pointer = buffer.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
            rc = llama_cpp.llama_set_adapter_cvec(self.ctx, pointer, buffer.size, self.n_embd, 1, self.n_layer - 1)
        if rc != 0:
            raise WorkerError(f"llama_set_adapter_cvec returned {rc}")
        self.cvec = label

    # -- decoding --------------------------------------------------------------------------
    def _decode_batch(self, entries: list[tuple[int, int, int, bool]]) -> None:
        """One ``llama_decode`` of (token, position, sequence, wants logits) entries."""
        batch = llama_cpp.llama_batch_init(len(entries), 0, 1)
        try:
            for i, (token, pos, seq, logits) in enumerate(entries):
                batch.token[i] = token
                batch.pos[i] = pos
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = seq
                batch.logits[i] = 1 if logits else 0
            batch.n_tokens = len(entries)
            rc = llama_cpp.llama_decode(self.ctx, batch)
            if rc != 0:
                raise WorkerError(f"llama_decode returned {rc}")
        finally:
            llama_cpp.llama_batch_free(batch)

    def _logits(self, index: int) -> np.ndarray:
        pointer = llama_cpp.llama_get_logits_ith(self.ctx, index)
        return np.ctypeslib.as_array(pointer, shape=(self.n_vocab,))

    def _decode(
        self, rows: list[list[int]], buffers: dict[str, np.ndarray | None], max_new: int, eos: set[int]
    ) -> list[list[int]]:
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self.ctx), True)
        self._apply(buffers["prompt"], "prompt" if buffers["prompt"] is not None else None)
        entries = [
            (token, pos, seq, pos == len(row) - 1) for seq, row in enumerate(rows) for pos, token in enumerate(row)
        ]
        self._decode_batch(entries)
        # logits index of each row's last prompt token in the batch just decoded
        where: dict[int, int] = {}
        offset = 0
        for seq, row in enumerate(rows):
            offset += len(row)
            where[seq] = offset - 1
        out: list[list[int]] = [[] for _ in rows]
        active = list(range(len(rows)))
        for step in range(max_new):
            chosen: dict[int, int] = {}
            for seq in active:
                token = int(np.argmax(self._logits(where[seq])))
                if token not in eos:
                    out[seq].append(token)
                    chosen[seq] = token
            active = [s for s in active if s in chosen]
            if not active or step == max_new - 1:
                break
            if step == 0:
                self._apply(buffers["generated"], "generated" if buffers["generated"] is not None else None)
            self._decode_batch([(chosen[s], len(rows[s]) + step, s, True) for s in active])
            where = {s: i for i, s in enumerate(active)}
        return out


def serve(stdin: Any, stdout: Any) -> None:
    """Answer JSON-line requests until stdin closes."""
    worker = Worker()
    operations = {"init": worker.init, "generate": worker.generate, "state": worker.state}
    for line in stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            op = request.get("op")
            if op not in operations:
                raise WorkerError(f"op: one of {sorted(operations)}, got {op!r}")
            reply: dict[str, Any] = {"ok": True, **operations[op](request)}
        except (WorkerError, KeyError, TypeError, ValueError) as error:
            reply = {"ok": False, "error": f"{type(error).__name__}: {error}"}
        stdout.write(json.dumps(reply) + "\n")
        stdout.flush()


if __name__ == "__main__":
    serve(sys.stdin, sys.stdout)
