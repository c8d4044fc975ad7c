"""In-process backends: the Hugging Face hook, the folded bias, and an exported folded folder.

* ``hf-hook`` steers with :func:`steering_core.steer.steer_rows`: every row its own plan, one
  forward pass, per-thread isolation (see :mod:`steering_core.dispatch`).
* ``hf-folded`` folds one plan into ``mlp.down_proj`` biases (:func:`steering_core.steer.steer`
  with ``mode="folded"``): positions ``all`` only, one plan per batch, no concurrency.
* ``folded-export`` writes each distinct plan as a normal model folder
  (:func:`steering_core.fold.export_folded`), reloads it with ``from_pretrained`` and generates
  with it: what a user of ``steer fold`` serves. Plain requests use an export with no delta, so
  the conversion itself is checked too.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import torch

from steering_core.conformance.plan import Request
from steering_core.errors import InvalidParameterError
from steering_core.fold import export_folded
from steering_core.generate import generate_tokens
from steering_core.hooks import hook_snapshot
from steering_core.layers import model_device, model_dtype
from steering_core.models import LoadedModel
from steering_core.ops import steering_delta
from steering_core.plan import Term as PlanTerm
from steering_core.steer import steer, steer_rows
from steering_core.vector import SteeringVector


def model_digest(model: torch.nn.Module) -> str:
    """sha256 over every parameter and buffer (name, dtype, shape, bytes) and the hook ids."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        data = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{data.dtype}|{tuple(data.shape)}|".encode())
        digest.update(data.view(torch.uint8).numpy().tobytes() if data.numel() else b"")
    digest.update(repr(sorted(hook_snapshot(model).items())).encode())
    return digest.hexdigest()


class _InProcess:
    """Shared bookkeeping: the loaded model and the registered vectors."""

    name = "in-process"
    capabilities: frozenset[str] = frozenset()

    def __init__(self, lm: LoadedModel) -> None:
        self.lm = lm
        self.vectors: dict[str, SteeringVector] = {}

    def add_vector(self, name: str, vector: SteeringVector) -> None:
        self.vectors[name] = vector

    def _vector(self, name: str) -> SteeringVector:
        if name not in self.vectors:
            raise InvalidParameterError("vector", f"one of {sorted(self.vectors)}", repr(name))
        return self.vectors[name]

    def state_digest(self) -> str | None:
        return model_digest(self.lm.model)

    def close(self) -> None:
        return None

    def _one_plan(self, requests: Sequence[Request]) -> Request:
        first = requests[0]
        if any(r.terms != first.terms for r in requests):
            raise InvalidParameterError(
                "requests", f"one plan for every row ({self.name} steers a whole batch one way)", "mixed plans"
            )
        for term in first.terms:
            if term.positions != "all":
                raise InvalidParameterError("positions", f"'all' ({self.name} acts on every position)", term.positions)
        return first


class HookBackend(_InProcess):
    """``hf-hook``: per-row plans through :func:`steer_rows`."""

    name = "hf-hook"
    capabilities = frozenset({"steer", "positions", "multi_term", "cache_toggle", "mixed_batch", "concurrency"})

    def generate(self, requests: Sequence[Request], max_new_tokens: int, *, use_cache: bool = True) -> list[list[int]]:
        plans = [
            [
                PlanTerm(
                    vector=self._vector(t.vector),
                    alpha=t.alpha,
                    layers=t.layers,
                    positions=t.positions,  # type: ignore[arg-type]
                )
                for t in r.terms
            ]
            or None
            for r in requests
        ]
        with steer_rows(self.lm, plans):
            return generate_tokens(self.lm, [r.prompt for r in requests], max_new_tokens, use_cache=use_cache)


class FoldedBackend(_InProcess):
    """``hf-folded``: one plan per batch, folded into ``down_proj`` biases for the call."""

    name = "hf-folded"
    capabilities = frozenset({"steer", "multi_term", "cache_toggle"})

    def generate(self, requests: Sequence[Request], max_new_tokens: int, *, use_cache: bool = True) -> list[list[int]]:
        plan = self._one_plan(requests)
        with ExitStack() as stack:
            for term in plan.terms:
                stack.enter_context(
                    steer(self.lm.model, self._vector(term.vector), term.alpha, term.layers, mode="folded")
                )
            return generate_tokens(self.lm, [r.prompt for r in requests], max_new_tokens, use_cache=use_cache)


class ExportBackend(_InProcess):
    """``folded-export``: each plan exported with ``export_folded`` and reloaded from disk."""

    name = "folded-export"
    capabilities = frozenset({"steer", "multi_term", "cache_toggle"})

    def __init__(self, lm: LoadedModel, workdir: str | Path | None = None) -> None:
        super().__init__(lm)
        self._tmp = Path(tempfile.mkdtemp(prefix="steer-conform-export-", dir=workdir))
        self._loaded: dict[str, tuple[Any, Any]] = {}

    def _deltas(self, request: Request) -> dict[int, torch.Tensor]:
        dtype, device = model_dtype(self.lm.model), model_device(self.lm.model)
        deltas: dict[int, torch.Tensor] = {}
        for term in request.terms:
            vector = self._vector(term.vector)
            for layer in term.layers:
                if not 0 <= layer < self.lm.num_layers:
                    raise InvalidParameterError("layers", f"layers in [0, {self.lm.num_layers - 1}]", layer)
                if term.alpha == 0.0:
                    continue
                step = steering_delta(vector[layer], term.alpha, dtype, device)
                deltas[layer] = step if layer not in deltas else deltas[layer] + step
        return deltas

    def _model(self, request: Request) -> tuple[Any, Any]:
        # deferred: imports transformers only when the export backend reloads a folded model, as
        # steering_core.models does: importing this module (the hook and folded backends) does not load it
        from transformers import AutoModelForCausalLM, AutoTokenizer

        deltas = self._deltas(request)
        digest = hashlib.sha256()
        for layer in sorted(deltas):
            digest.update(str(layer).encode() + deltas[layer].numpy().tobytes())
        key = digest.hexdigest()[:16]
        if key not in self._loaded:
            folder = export_folded(self.lm, deltas, self._tmp / key)
            model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=model_dtype(self.lm.model))
            model.eval()  # type: ignore[no-untyped-call]
            self._loaded[key] = (model, AutoTokenizer.from_pretrained(str(folder)))
        return self._loaded[key]

    def generate(self, requests: Sequence[Request], max_new_tokens: int, *, use_cache: bool = True) -> list[list[int]]:
        plan = self._one_plan(requests)
        model, tokenizer = self._model(plan)
        lm = LoadedModel(model=model, tokenizer=tokenizer)
        return generate_tokens(lm, [r.prompt for r in requests], max_new_tokens, use_cache=use_cache)

    def close(self) -> None:
        self._loaded.clear()
        shutil.rmtree(self._tmp, ignore_errors=True)
