"""The worker: loads each model once and runs cells on it (the same code in every executor).

:class:`Worker` is a plain object. The local executor runs one in the driver's process; the Ray
executor wraps one in each Ray actor. ``run(cell)`` loads ``cell.model`` on first use (kept for
the worker's lifetime, keyed by name and dtype), rebuilds the vector from the cell's bytes,
steers with :func:`steering_core.steer.steer` (hooks live only inside the ``with`` block) and
answers the prompts greedily with :func:`steering_core.generate.generate`. The answers are a
function of the cell alone (greedy decoding, the same batch split), which is what lets records
from different workers and executors be compared cell by cell.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import torch

from steering_core.certify.fingerprint import config_fingerprint, weights_fingerprint
from steering_core.execute.cell import Cell, make_record
from steering_core.generate import generate_tokens
from steering_core.models import load_model
from steering_core.steer import steer

ModelLoader = Callable[[str, torch.dtype], Any]


def package_version() -> str:
    """The installed version of ``steering-spec`` (``"unknown"`` when it is not installed)."""
    from importlib import metadata

    try:
        return metadata.version("steering-spec")
    except metadata.PackageNotFoundError:
        return "unknown"


def _default_loader(name: str, dtype: torch.dtype) -> Any:
    return load_model(name, dtype=dtype)


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Worker:
    """Runs cells; models are loaded once per (name, dtype) and kept.

    Args:
        executor: recorded in each record's provenance (``local`` or ``ray``).
        worker_id: recorded in provenance (unique per worker within a run).
        preloaded: models already loaded by the caller, keyed by ``(name, dtype name)``; each a
            :class:`steering_core.models.LoadedModel` (or anything with ``model``, ``tokenizer``
            and ``name``). The local executor passes the driver's model here so it is not loaded twice.
        threads: ``torch.set_num_threads`` for this process (None: leave it).
        loader: how a model is loaded by name (default :func:`steering_core.models.load_model`).
    """

    def __init__(
        self,
        executor: str,
        worker_id: str,
        preloaded: Mapping[tuple[str, str], Any] | None = None,
        threads: int | None = None,
        loader: ModelLoader | None = None,
    ) -> None:
        self.executor = executor
        self.worker_id = worker_id
        self._models: dict[tuple[str, str], Any] = dict(preloaded or {})
        self._fingerprints: dict[tuple[str, str], dict[str, str]] = {}
        self._vectors: dict[str, Any] = {}
        self._loader = loader or _default_loader
        if threads is not None:
            torch.set_num_threads(int(threads))
        self.cells_run = 0

    def adopt(self, key: tuple[str, str], loaded: Any) -> None:
        """Keep ``loaded`` as the model of ``key = (name, dtype name)`` (a model the caller loaded)."""
        self._models.setdefault(key, loaded)

    def model(self, name: str, dtype: str) -> Any:
        """The loaded model ``name`` in ``dtype`` (loaded on first use)."""
        key = (name, dtype)
        if key not in self._models:
            self._models[key] = self._loader(name, getattr(torch, dtype))
        return self._models[key]

    def _fingerprint(self, key: tuple[str, str]) -> dict[str, str]:
        if key not in self._fingerprints:
            model = self._models[key].model
            self._fingerprints[key] = {
                "name": str(self._models[key].name),
                "config_sha256": str(config_fingerprint(model)["sha256"]),
                "weights_sha256": str(weights_fingerprint(model)["sha256"]),
            }
        return self._fingerprints[key]

    def answers(self, cell: Cell) -> tuple[list[str], list[list[int]]]:
        """Greedy answers to ``cell.prompts`` and their new-token ids, steered as the cell says.

        The same computation as :func:`steering_core.generate.generate` (``batch_size`` prompts
        per batch, left-padded, cut at the first EOS, decoded without special tokens and
        stripped), keeping the token ids too.
        """
        from contextlib import nullcontext

        loaded = self.model(cell.model, cell.dtype)
        model, tokenizer = loaded.model, loaded.tokenizer
        prompts = list(cell.prompts)
        hook: Any = nullcontext()
        if cell.steered and cell.vector is not None:
            sha = cell.vector.sha256
            if sha not in self._vectors:
                self._vectors[sha] = cell.vector.to_vector()
            hook = steer(model, self._vectors[sha], cell.alpha, layers=list(cell.layers), positions=cell.positions)  # type: ignore[arg-type]
        answers: list[str] = []
        tokens: list[list[int]] = []
        with hook:
            for start in range(0, len(prompts), cell.batch_size):
                chunk = prompts[start : start + cell.batch_size]
                for ids in generate_tokens(loaded, chunk, cell.max_new_tokens, chat=cell.chat):
                    tokens.append([int(t) for t in ids])
                    answers.append(tokenizer.decode(ids, skip_special_tokens=True).strip())
        return answers, tokens

    def run(self, cell: Cell, attempt: int = 1) -> dict[str, Any]:
        """Run ``cell`` and return its record (schema :data:`~steering_core.execute.cell.RECORD_SCHEMA`)."""
        start = time.perf_counter()
        answers, tokens = self.answers(cell)
        seconds = time.perf_counter() - start
        self.cells_run += 1
        provenance = {
            "executor": self.executor,
            "worker": self.worker_id,
            "package_version": package_version(),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "torch_threads": int(torch.get_num_threads()),
            "attempt": int(attempt),
            "model": self._fingerprint((cell.model, cell.dtype)),
        }
        return make_record(cell, answers, tokens, provenance, seconds, _utc_now())

    def pid(self) -> int:
        """This worker's process id (tests kill it to check retries)."""
        return os.getpid()
