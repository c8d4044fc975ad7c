"""``llama-cpp``: the conformance backend on llama.cpp (llama-cpp-python) with control vectors.

What a user of our vectors does with llama.cpp, end to end: the model is converted to GGUF by
llama.cpp's *own* converter (``convert_hf_to_gguf.py`` of the llama-cpp-python sdist, F32, see
:mod:`steering_core.conformance.gguf_convert`), each steering term is exported as a control-vector
GGUF by :func:`steering_core.certify.gguf_interop.write_control_vector` (our layer ``L`` is
``direction.L``), and llama.cpp applies the files with strength ``alpha`` through
``llama_set_adapter_cvec`` (see :mod:`steering_core.conformance.llama_cpp_worker`, which runs in
the llama-cpp-python environment as a child process and decides the layer from the number in
the file, as llama.cpp does). Token ids come from the Hugging Face tokenizer with the chat
template (the oracle's), so tokenisation is not under test; llama.cpp's vocabulary in the
converted file is a placeholder.

Capabilities, declared honestly:

* ``steer``, ``multi_term`` (several files, summed as ``common_control_vector_load`` does),
  ``positions`` (the control vector is switched between the prompt's decode call and the
  generated tokens' calls; llama.cpp itself applies a control vector to every token of a call).
* not ``mixed_batch``: one control vector per llama.cpp context, so every row of one
  ``generate`` call must carry the same plan (mixed plans raise
  :class:`~steering_core.errors.InvalidParameterError`). Rows with the same plan run as one
  batch of llama.cpp sequences.
* not ``cache_toggle``: llama.cpp always decodes with its KV cache (``use_cache=False`` raises).
* not ``concurrency``: one context serves one call at a time (calls are serialised by a lock,
  never interleaved).

Layer 0 cannot be steered (llama.cpp control vectors have no ``direction.0``): such a term is
refused, as is a layer at or beyond the model's last.

Needs the llama-cpp-python environment (``scripts/build_llama_cpp.sh``; its interpreter at
``$LLAMA_CPP_PYTHON``, default ``<cache>/llama-venv/bin/python``) and llama.cpp's converter
(``scripts/fetch_llama_convert.sh``; ``$LLAMA_CPP_CONVERT``, default ``<cache>/llama-cpp-convert``).
``make interop`` prepares both.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import torch

from steering_core.atomic import atomic_file
from steering_core.certify.gguf_interop import write_control_vector
from steering_core.conformance.plan import POSITIONS, Request, Term
from steering_core.errors import InvalidParameterError, SteeringError
from steering_core.generate import eos_token_ids
from steering_core.models import LoadedModel, cache_dir
from steering_core.prompts import encode
from steering_core.vector import SteeringVector

WORKER = Path(__file__).with_name("llama_cpp_worker.py")
CONVERT = Path(__file__).with_name("gguf_convert.py")
PYTHON_ENV = "LLAMA_CPP_PYTHON"
CONVERT_ENV = "LLAMA_CPP_CONVERT"
THREADS_ENV = "LLAMA_CPP_THREADS"
CONVERT_TIMEOUT_S = 3600


class LlamaCppUnavailableError(SteeringError, OSError):
    """llama-cpp-python or llama.cpp's converter is missing (the message says how to get it)."""


class LlamaCppError(SteeringError, RuntimeError):
    """The llama.cpp worker refused a request or failed (its message and log tail attached)."""


def llama_python() -> Path:
    """The interpreter that has ``llama_cpp`` (``$LLAMA_CPP_PYTHON``, else the cache's llama-venv)."""
    env = os.environ.get(PYTHON_ENV)
    return Path(env) if env else cache_dir() / "llama-venv" / "bin" / "python"


def llama_converter() -> Path:
    """The folder holding llama.cpp's ``convert_hf_to_gguf.py`` (``$LLAMA_CPP_CONVERT``, else the cache's)."""
    env = os.environ.get(CONVERT_ENV)
    return Path(env) if env else cache_dir() / "llama-cpp-convert"


def llama_available() -> str | None:
    """None when the backend can run here, else why not (one line)."""
    python = llama_python()
    if not python.exists():
        return f"no llama-cpp-python interpreter at {python} (scripts/build_llama_cpp.sh, or set {PYTHON_ENV})"
    probe = subprocess.run([str(python), "-c", "import llama_cpp"], capture_output=True, check=False, timeout=120)
    if probe.returncode != 0:
        return f"{python} cannot import llama_cpp (scripts/build_llama_cpp.sh)"
    if not (llama_converter() / "convert_hf_to_gguf.py").is_file():
        return f"no llama.cpp converter in {llama_converter()} (scripts/fetch_llama_convert.sh, or set {CONVERT_ENV})"
    return None


def default_threads() -> int:
    """llama.cpp's thread count: ``$LLAMA_CPP_THREADS`` when set, else 1.

    ggml's worker threads spin while they wait for each other: on a loaded 2-core machine the
    SmolLM2 kit ran 15.6 min with 1 thread and had not finished after 60 min with 2 (the
    reference loop, not llama.cpp, dominates a run with 1 thread)."""
    env = os.environ.get(THREADS_ENV)
    if env:
        if not env.isdigit() or int(env) < 1:
            raise InvalidParameterError(THREADS_ENV, "a positive integer", repr(env))
        return int(env)
    return 1


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def convert_to_gguf(model_dir: Path, out: Path, outtype: str = "f32") -> Path:
    """Convert the Hugging Face folder ``model_dir`` to ``out`` with llama.cpp's converter (atomic).

    Raises:
        LlamaCppUnavailableError: no converter; LlamaCppError: the converter failed.
    """
    converter = llama_converter()
    if not (converter / "convert_hf_to_gguf.py").is_file():
        raise LlamaCppUnavailableError(f"no llama.cpp converter in {converter} (scripts/fetch_llama_convert.sh)")
    with atomic_file(out) as tmp:
        command = [sys.executable, str(CONVERT), "--converter", str(converter), "--placeholder-vocab"]
        done = subprocess.run(
            [*command, "--outtype", outtype, str(model_dir), str(tmp)],
            capture_output=True,
            text=True,
            check=False,
            timeout=CONVERT_TIMEOUT_S,
        )
        if done.returncode != 0:
            raise LlamaCppError(f"llama.cpp's convert_hf_to_gguf failed on {model_dir}: {done.stderr[-2000:]}")
    return out


def model_gguf(lm: LoadedModel, workdir: Path) -> Path:
    """An F32 GGUF of ``lm`` made by llama.cpp's converter.

    A tiny model (``lm.source == "tiny"``) is saved to ``workdir`` and converted there; a model
    loaded from a folder (``lm.source``) is converted once into ``<cache>/llama-gguf``, keyed by
    the folder's config and weight files (name, size, modification time).
    """
    if lm.source == "tiny":
        folder = workdir / "hf"
        lm.model.save_pretrained(str(folder))
        lm.tokenizer.save_pretrained(str(folder))
        return convert_to_gguf(folder, workdir / "model-f32.gguf")
    folder = Path(lm.source)
    if not (folder / "config.json").is_file():
        raise InvalidParameterError("model", "a tiny-<arch> model or one loaded from a local folder", lm.source)
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.suffix in (".json", ".safetensors"):
            stat = path.stat()
            digest.update(f"{path.name}|{stat.st_size}|{stat.st_mtime_ns}|".encode())
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in (lm.name or folder.name))
    target = cache_dir() / "llama-gguf" / f"{stem}-{digest.hexdigest()[:16]}-f32.gguf"
    if not target.is_file():
        convert_to_gguf(folder, target)
    return target


class LlamaCppBackend:
    """The ``llama-cpp`` backend (see the module docstring)."""

    name = "llama-cpp"
    capabilities = frozenset({"steer", "positions", "multi_term"})

    def __init__(
        self,
        lm: LoadedModel,
        *,
        gguf: str | os.PathLike[str] | None = None,
        threads: int | None = None,
        n_seq_max: int = 8,
        n_ctx_seq: int = 512,
        workdir: str | os.PathLike[str] | None = None,
    ) -> None:
        why = llama_available() if gguf is None else None
        if why is not None:
            raise LlamaCppUnavailableError(why)
        self.lm = lm
        self.vectors: dict[str, SteeringVector] = {}
        self._files: dict[tuple[str, tuple[int, ...]], Path] = {}
        self._tmp = Path(tempfile.mkdtemp(prefix="steer-conform-llama-", dir=workdir))
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = None
        self._log: IO[str] | None = None
        try:
            self.gguf = Path(gguf) if gguf is not None else model_gguf(lm, self._tmp)
            self.gguf_sha256 = _sha256_file(self.gguf)
            self.n_seq_max = n_seq_max
            self._eos = sorted(eos_token_ids(lm.tokenizer, lm.model))
            self.info = self._start(threads or default_threads(), n_ctx_seq)
        except BaseException:
            self.close()
            raise
        if (self.info["n_layer"], self.info["n_embd"]) != (lm.num_layers, lm.hidden_size):
            self.close()
            raise LlamaCppError(
                f"{self.gguf}: llama.cpp sees {self.info['n_layer']} layers x {self.info['n_embd']}, "
                f"the model has {lm.num_layers} x {lm.hidden_size}"
            )

    # -- the worker --------------------------------------------------------------------------
    def _start(self, threads: int, n_ctx_seq: int) -> dict[str, Any]:
        self._log = (self._tmp / "llama.log").open("w+", encoding="utf-8")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self._proc = subprocess.Popen(
            [str(llama_python()), str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env=env,
        )
        init = {"model": str(self.gguf), "n_seq_max": self.n_seq_max, "n_ctx_seq": n_ctx_seq, "threads": threads}
        return self._call("init", **init)

    def _log_tail(self) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        return self._log.read()[-2000:]

    def _call(self, op: str, **fields: Any) -> dict[str, Any]:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdout is None or proc.poll() is not None:
            raise LlamaCppError(f"the llama.cpp worker is not running; its log: {self._log_tail()}")
        proc.stdin.write(json.dumps({"op": op, **fields}) + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        if not line:
            raise LlamaCppError(f"the llama.cpp worker exited during {op!r}; its log: {self._log_tail()}")
        reply: dict[str, Any] = json.loads(line)
        if not reply.get("ok"):
            raise LlamaCppError(f"llama.cpp worker refused {op!r}: {reply.get('error')}")
        return reply

    # -- Backend -----------------------------------------------------------------------------
    def add_vector(self, name: str, vector: SteeringVector) -> None:
        """Register ``vector`` under ``name`` (exported per term, on first use)."""
        self.vectors[name] = vector

    def export_term(self, vector: SteeringVector, layers: tuple[int, ...], path: Path) -> None:
        """Write the control-vector GGUF of ``vector`` at ``layers`` (our numbering: ``direction.L``)."""
        hint = str(getattr(self.lm.model.config, "model_type", "") or "unknown")
        directions = {layer: vector[layer].detach().to(torch.float32).contiguous() for layer in layers}
        write_control_vector(path, directions, hint)

    def _file(self, term: Term) -> Path:
        key = (term.vector, tuple(term.layers))
        if key not in self._files:
            path = self._tmp / f"cv-{len(self._files)}.gguf"
            self.export_term(self.vectors[term.vector], key[1], path)
            self._files[key] = path
        return self._files[key]

    def _check(self, term: Term) -> None:
        if term.vector not in self.vectors:
            raise InvalidParameterError("vector", f"one of {sorted(self.vectors)}", repr(term.vector))
        if term.positions not in POSITIONS:
            raise InvalidParameterError("positions", f"one of {POSITIONS}", repr(term.positions))
        if not torch.isfinite(torch.tensor(term.alpha)):
            raise InvalidParameterError("alpha", "a finite number", repr(term.alpha))
        last = self.lm.num_layers - 1
        for layer in term.layers:
            if not 1 <= layer <= last:
                raise InvalidParameterError(
                    "layers", f"layers in [1, {last}] (llama.cpp control vectors have no direction.0)", layer
                )
            if layer not in self.vectors[term.vector].layer_indices:
                raise InvalidParameterError("layers", f"layers of vector {term.vector!r}", layer)

    def generate(self, requests: Sequence[Request], max_new_tokens: int, *, use_cache: bool = True) -> list[list[int]]:
        """Greedy new token ids per request; rows of one call share one plan (one control vector)."""
        if use_cache is not True:
            raise InvalidParameterError("use_cache", "True (llama.cpp always decodes with its KV cache)", use_cache)
        if not requests:
            return []
        plan = requests[0].terms
        if any(r.terms != plan for r in requests):
            raise InvalidParameterError(
                "requests", "one plan for every row (llama.cpp has one control vector per context)", "mixed plans"
            )
        for term in plan:
            self._check(term)
        rows = [encode(self.lm.tokenizer, [r.prompt], chat=True).input_ids[0].tolist() for r in requests]
        with self._lock:
            terms = [[str(self._file(t)), float(t.alpha), t.positions] for t in plan]
            out: list[list[int]] = []
            for start in range(0, len(rows), self.n_seq_max):
                chunk = rows[start : start + self.n_seq_max]
                reply = self._call(
                    "generate", rows=chunk, terms=terms, max_new_tokens=int(max_new_tokens), eos=self._eos
                )
                out.extend([int(t) for t in row] for row in reply["tokens"])
        return out

    def state_digest(self) -> str | None:
        """sha256 of the served GGUF's digest and what the worker holds (control vector, KV cache)."""
        with self._lock:
            state = self._call("state")
        state.pop("ok", None)
        return hashlib.sha256(f"{self.gguf_sha256}|{json.dumps(state, sort_keys=True)}".encode()).hexdigest()

    def close(self) -> None:
        """Stop the worker and remove the temporary folder."""
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                if proc.stdin is not None:
                    proc.stdin.close()
                proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait(timeout=30)
            if proc.stdout is not None:
                proc.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None
        shutil.rmtree(self._tmp, ignore_errors=True)
