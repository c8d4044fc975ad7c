"""Run greedy decoding in llama.cpp (llama-cpp-python) with and without a control-vector GGUF.

Executed by the interpreter that has ``llama_cpp`` installed (``scripts/build_llama_cpp.sh``),
not by pytest: it needs only ``llama_cpp``, ``numpy`` and the standard library.

Input (JSON on stdin)::

    {"model": "<model.gguf>", "control_vector": "<cv.gguf>", "strength": 0.5,
     "prompts": [[token ids], ...], "max_new_tokens": 96, "eos": [ids], "threads": 2}

The control vector is read the way llama.cpp's ``common_control_vector_load_one`` reads it, with
llama.cpp's *own* GGUF parser (``gguf_init_from_file`` in libggml-base, via ctypes):
``general.architecture`` must be ``controlvector``; each ``direction.<n>`` (n >= 1, F32, 1-D)
is scaled by ``strength`` and stored at ``data[(n - 1) * n_embd]``. The buffer is applied with
llama.cpp's control-vector API (``llama_set_adapter_cvec``, older releases
``llama_apply_adapter_cvec`` / ``llama_control_vector_apply``) over layers 1..n_layer.

Output (JSON on stdout): what the parser saw, and per prompt the greedy token ids plus the
the first prompt's last-position logits (baseline and steered) for the layer-mapping probe.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import llama_cpp
import numpy as np

GGML_TYPE_F32 = 0


class _GgufInitParams(ctypes.Structure):
    _fields_ = [("no_alloc", ctypes.c_bool), ("ctx", ctypes.c_void_p)]


def _ggml_base() -> ctypes.CDLL:
    lib_dir = Path(llama_cpp.__file__).resolve().parent / "lib"
    for name in ("libggml-base.so", "libggml-base.dylib", "ggml-base.dll", "libggml.so"):
        if (lib_dir / name).exists():
            lib = ctypes.CDLL(str(lib_dir / name))
            if hasattr(lib, "gguf_init_from_file"):
                return lib
    raise RuntimeError(f"no ggml library with gguf_init_from_file in {lib_dir}")


def load_control_vector(path: str, strength: float, n_layer: int) -> tuple[np.ndarray, int, dict[str, Any]]:
    """(buffer starting at layer 1, n_embd, what the parser saw), as common_control_vector_load_one does."""
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
        raise RuntimeError(f"llama.cpp's GGUF parser refused {path}")
    try:
        key = lib.gguf_find_key(ctx, b"general.architecture")
        arch = lib.gguf_get_val_str(ctx, key).decode() if key >= 0 else None
        data_offset = lib.gguf_get_data_offset(ctx)
        raw = Path(path).read_bytes()
        directions: dict[int, np.ndarray] = {}
        names = []
        for i in range(lib.gguf_get_n_tensors(ctx)):
            name = lib.gguf_get_tensor_name(ctx, i).decode()
            names.append(name)
            prefix, _, index = name.partition(".")
            if prefix != "direction" or not index.isdigit() or int(index) == 0:
                raise RuntimeError(f"invalid direction tensor {name!r} (llama.cpp would refuse it)")
            if lib.gguf_get_tensor_type(ctx, i) != GGML_TYPE_F32:
                raise RuntimeError(f"{name}: not F32 (llama.cpp would refuse it)")
            start = data_offset + lib.gguf_get_tensor_offset(ctx, i)
            size = lib.gguf_get_tensor_size(ctx, i)
            directions[int(index)] = np.frombuffer(raw[start : start + size], dtype="<f4").copy()
    finally:
        lib.gguf_free(ctx)
    n_embd = len(next(iter(directions.values())))
    buffer = np.zeros(n_embd * max(directions), dtype=np.float32)
    for layer, values in directions.items():
        buffer[n_embd * (layer - 1) : n_embd * layer] += values * np.float32(strength)
    seen = {
        "architecture": arch,
        "tensors": names,
        "n_embd": n_embd,
        "tensor_bytes_sha": {n: hashlib.sha256(v.tobytes()).hexdigest() for n, v in directions.items()},
    }
    return buffer, n_embd, seen


def apply_control_vector(llm: Any, buffer: np.ndarray | None, n_embd: int, n_layer: int) -> None:
    """Apply (or, with None, clear) a control vector through llama.cpp's API, whatever its name in this release."""
    fn = None
    for name in ("llama_set_adapter_cvec", "llama_apply_adapter_cvec", "llama_control_vector_apply"):
        if hasattr(llama_cpp, name):
            fn = getattr(llama_cpp, name)
            break
    if fn is None:
        raise RuntimeError("this llama-cpp-python exposes no control-vector API")
    if buffer is None:
        rc = fn(llm.ctx, None, 0, n_embd, -1, -1)
    else:
        pointer = buffer.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        rc = fn(llm.ctx, pointer, buffer.size, n_embd, 1, n_layer)
    if rc != 0:
        raise RuntimeError(f"{fn.__name__} returned {rc}")


def greedy(llm: Any, prompt: list[int], max_new_tokens: int, eos: set[int]) -> tuple[list[int], list[float]]:
    """Greedy continuation of ``prompt`` (fresh KV cache) and the prompt's last-position logits."""
    llm.reset()
    llm.eval(prompt)
    n_vocab = llm.n_vocab()
    out: list[int] = []
    first_logits: list[float] = []
    for step in range(max_new_tokens):
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(n_vocab,))
        if step == 0:
            first_logits = logits.astype(np.float64).tolist()
        token = int(np.argmax(logits))
        if token in eos:
            break
        out.append(token)
        llm.eval([token])
    return out, first_logits


def main() -> None:
    request = json.load(sys.stdin)
    llm = llama_cpp.Llama(
        model_path=request["model"],
        n_ctx=1024,
        n_threads=int(request.get("threads", 2)),
        n_threads_batch=int(request.get("threads", 2)),
        verbose=False,
        seed=0,
    )
    n_layer = llama_cpp.llama_model_n_layer(llm.model)
    n_embd = llama_cpp.llama_model_n_embd(llm.model)
    buffer, cv_embd, seen = load_control_vector(request["control_vector"], float(request["strength"]), n_layer)
    if cv_embd != n_embd:
        raise RuntimeError(f"control vector n_embd {cv_embd} != model n_embd {n_embd}")
    eos = {int(t) for t in request["eos"]}
    result: dict[str, Any] = {
        "llama_cpp_version": llama_cpp.__version__,
        "api": next(
            n
            for n in ("llama_set_adapter_cvec", "llama_apply_adapter_cvec", "llama_control_vector_apply")
            if hasattr(llama_cpp, n)
        ),
        "n_layer": n_layer,
        "n_embd": n_embd,
        "control_vector": seen,
        "baseline": [],
        "steered": [],
        "probe_logits": {},
    }
    for kind in ("baseline", "steered"):
        apply_control_vector(llm, buffer if kind == "steered" else None, n_embd, n_layer)
        for index, prompt in enumerate(request["prompts"]):
            tokens, logits = greedy(llm, [int(t) for t in prompt], int(request["max_new_tokens"]), eos)
            result[kind].append(tokens)
            if index == 0:
                result["probe_logits"][kind] = logits
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    os.environ.setdefault("LLAMA_LOG_LEVEL", "error")
    main()
