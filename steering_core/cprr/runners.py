"""Runners: the code that executes a conjecture's protocol and returns its measured values.

A runner is a function ``fn(ctx: RunContext, protocol: dict) -> dict[str, number | list | dict]``
registered for one conjecture id with the :func:`runner` decorator::

    @runner("C-9", fast=False)
    def run_c9(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
        prompts = ctx.prompts(protocol)             # the pre-registered prompts (digest checked)
        ...
        return {"injection_fraction": 0.62, "baseline_mean_words": 46.2}

Contract: the runner reads everything it varies from ``protocol`` (layers, alphas, styles,
``n_samples``, ``max_new_tokens``, ``params``), obtains prompts, vectors, norms and generations
through ``ctx`` (which records every input for the data digest and caches within one run; each
run starts with empty caches, so a repeated run is an independent reproduction), and returns
plain numbers. It does not compute the verdict: the engine evaluates
``protocol["decision_rule"]`` on the returned values, and every metric the rule names must be
among them (a finite int or float at the top level). It runs under
:func:`deterministic` with the protocol's seed (greedy generation, seeded RNGs, deterministic
algorithms where torch has them), so the same inputs give the same numbers on the same machine
kind. ``fast=True`` promises no text generation: a few forward passes, tens of seconds on the
embedded model on 2 (shared) CPU cores; ``steer cprr run --all --fast`` runs only those.

:func:`load_runners` imports the runner modules of this package (and
``steering_core.cprr.runners_behaviour`` when it exists) so that :data:`RUNNERS` is filled.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch

from steering_core.cprr.digests import sha256_of
from steering_core.cprr.errors import ProtocolDataError
from steering_core.layers import num_layers
from steering_core.prompt_sets import prompt_set, prompt_set_digest
from steering_core.styles import as_style

RunnerFn = Callable[["RunContext", dict[str, Any]], dict[str, Any]]
RUNNER_MODULES: tuple[str, ...] = (
    "steering_core.cprr.runners_geometry",
    "steering_core.cprr.runners_extraction",
    "steering_core.cprr.runners_layers",
    "steering_core.cprr.runners_relational",
    "steering_core.cprr.runners_seed",
    "steering_core.cprr.runners_behaviour",
)


@dataclass(frozen=True)
class Runner:
    """A registered runner: the conjecture id, the function and whether it is cheap (no generation)."""

    entry_id: str
    fn: RunnerFn
    fast: bool

    @property
    def function_name(self) -> str:
        """``module:qualname`` of the function (recorded in evidence)."""
        return f"{self.fn.__module__}:{self.fn.__qualname__}"


RUNNERS: dict[str, Runner] = {}


def runner(entry_id: str, *, fast: bool) -> Callable[[RunnerFn], RunnerFn]:
    """Register the decorated function as the runner of ``entry_id`` (see the module docstring).

    Re-registering the same function (a module imported twice) is allowed; a different
    function for an id that already has one raises ``ValueError``.
    """

    def register(fn: RunnerFn) -> RunnerFn:
        existing = RUNNERS.get(entry_id)
        if existing is not None and (existing.fn.__module__, existing.fn.__qualname__) != (
            fn.__module__,
            fn.__qualname__,
        ):
            raise ValueError(f"runner for {entry_id} already registered by {existing.function_name}")
        RUNNERS[entry_id] = Runner(entry_id, fn, fast)
        return fn

    return register


def load_runners() -> dict[str, Runner]:
    """Import every runner module; return :data:`RUNNERS`."""
    for name in RUNNER_MODULES:
        importlib.import_module(name)
    return RUNNERS


@contextmanager
def deterministic(seed: int) -> Iterator[None]:
    """Seed Python, NumPy and torch and turn on deterministic algorithms (warn only); restored on exit."""
    import numpy as np

    previous = torch.are_deterministic_algorithms_enabled()
    previous_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous, warn_only=previous_warn)


def _silent(_: str) -> None:
    return None


@dataclass
class RunContext:
    """What a runner may use: the loaded model and cached, recorded access to data, vectors and norms.

    Attributes:
        loaded: a :class:`steering_core.models.LoadedModel` (``model``, ``tokenizer``, ``name``).
        log: progress messages (stderr in the CLI).
        inputs: every input used since :meth:`begin` (digested into the record's ``inputs_sha256``).
    """

    loaded: Any
    log: Callable[[str], None] = _silent
    inputs: list[Any] = field(default_factory=list)
    _vectors: dict[Any, Any] = field(default_factory=dict, repr=False)
    _norms: dict[Any, Any] = field(default_factory=dict, repr=False)
    _answers: dict[Any, list[str]] = field(default_factory=dict, repr=False)
    _prompts: dict[str, list[str]] = field(default_factory=dict, repr=False)

    # ----------------------------------------------------------------- basics
    @property
    def model(self) -> Any:
        """The model (eval mode)."""
        return self.loaded.model

    @property
    def tokenizer(self) -> Any:
        """Its tokenizer."""
        return self.loaded.tokenizer

    @property
    def num_layers(self) -> int:
        """Number of decoder layers."""
        return num_layers(self.model)

    def begin(self) -> None:
        """Start a run: forget the recorded inputs *and* every cache.

        Each run recomputes everything it uses (only the loaded model is shared), so two runs
        agreeing is a reproduction, not a cache hit. Within one run, vectors, norms, prompts and
        answers are cached.
        """
        self.inputs = []
        self._vectors.clear()
        self._norms.clear()
        self._answers.clear()
        self._prompts.clear()

    def inputs_sha256(self) -> str:
        """sha256 of the canonical JSON of every input used since :meth:`begin`."""
        return sha256_of(self.inputs)

    def check_layers(self, layers: Sequence[int]) -> list[int]:
        """``layers`` as ints, after checking each exists in this model.

        Raises:
            ProtocolDataError: a layer is outside ``[0, num_layers)``.
        """
        n = self.num_layers
        bad = [layer for layer in layers if not 0 <= int(layer) < n]
        if bad:
            raise ProtocolDataError(f"protocol layers {bad} do not exist in a {n}-layer model")
        return [int(layer) for layer in layers]

    # ----------------------------------------------------------------- data
    def prompts(self, protocol: dict[str, Any]) -> list[str]:
        """The protocol's prompts: the first ``n_prompts`` of its prompt set, after checking the set's digest.

        Raises:
            ProtocolDataError: the shipped set's sha256 is not the pre-registered one, or it has too few prompts.
        """
        spec = protocol["prompt_set"]
        digest = prompt_set_digest(spec["id"])
        if digest != spec["sha256"]:
            raise ProtocolDataError(
                f"prompt set {spec['id']!r} has sha256 {digest[:12]}…, the protocol pre-registered "
                f"{spec['sha256'][:12]}… (the data changed; amend the protocol)"
            )
        prompts = prompt_set(spec["id"])
        if len(prompts) < spec["n_prompts"]:
            raise ProtocolDataError(f"prompt set {spec['id']!r} has {len(prompts)} prompts, need {spec['n_prompts']}")
        chosen = prompts[: spec["n_prompts"]]
        self.inputs.append({"prompts": chosen})
        self._prompts[spec["sha256"] + f":{spec['n_prompts']}"] = chosen
        return list(chosen)

    def prompt_cache(self, protocol: dict[str, Any]) -> list[str]:
        """The prompts :meth:`prompts` already returned for this protocol (checked and recorded then)."""
        spec = protocol["prompt_set"]
        cached = self._prompts.get(spec["sha256"] + f":{spec['n_prompts']}")
        return list(cached) if cached is not None else self.prompts(protocol)

    # ----------------------------------------------------------------- vectors and norms
    def vector(
        self,
        style: str | Sequence[tuple[str, str]],
        position: str = "last",
        chat: bool = True,
        aggregator: str = "mean",
    ) -> Any:
        """A raw :class:`~steering_core.vector.SteeringVector` at every layer (cached; inputs recorded).

        ``style`` is a seed style name or a sequence of ``(positive, negative)`` instruction pairs.
        """
        # deferred: imports deal, icontract only when this runs, not at module import
        from steering_core.extract import extract

        pairs = (
            [(p.positive, p.negative) for p in as_style(style).pairs]
            if isinstance(style, str)
            else [(str(a), str(b)) for a, b in style]
        )
        key = (tuple(pairs), position, chat, aggregator)
        self.inputs.append(
            {"pairs": [list(p) for p in pairs], "position": position, "chat": chat, "aggregator": aggregator}
        )
        if key not in self._vectors:
            self.log(f"extracting {style if isinstance(style, str) else 'custom pairs'} ({position}, chat={chat})")
            self._vectors[key] = extract(
                self.loaded,
                style=style if isinstance(style, str) else pairs,
                read_at=position,
                aggregator=aggregator,
                chat=chat,
            )
        return self._vectors[key]

    def residual_norms(self, prompts: Sequence[str], chat: bool = True) -> list[Any]:
        """:func:`steering_core.diagnose.residual_norms` at every layer over ``prompts`` (cached)."""
        # deferred: imports deal, icontract only when this runs, not at module import
        from steering_core.diagnose import residual_norms

        key = (tuple(prompts), chat)
        self.inputs.append({"norm_prompts": list(prompts), "chat": chat})
        if key not in self._norms:
            self.log(f"residual norms over {len(prompts)} prompts")
            self._norms[key] = residual_norms(self.loaded, list(prompts), chat=chat)
        return list(self._norms[key])

    # ----------------------------------------------------------------- generation
    def generate(self, prompts: Sequence[str], max_new_tokens: int) -> list[str]:
        """Greedy unsteered answers (chat-templated)."""
        # deferred: imports deal, icontract only when this runs, not at module import
        from steering_core.generate import generate

        self.inputs.append({"generate": list(prompts), "max_new_tokens": max_new_tokens})
        key = ("base", tuple(prompts), max_new_tokens)
        if key not in self._answers:
            self.log(f"generating {len(prompts)} answers (unsteered, {max_new_tokens} tokens at most)")
            self._answers[key] = generate(self.loaded, list(prompts), max_new_tokens)
        return list(self._answers[key])

    def steered_input(
        self, vector: Any, alpha: float, layers: int | Sequence[int], prompts: Sequence[str], max_new_tokens: int
    ) -> tuple[list[int], tuple[Any, ...]]:
        """Record a steered generation's inputs; its layers as a list and its answer-cache key.

        Shared by every context's :meth:`steered` (in-process here, as execution cells in
        :class:`steering_core.execute.cprr_context.ExecutorRunContext`).
        """
        chosen = [layers] if isinstance(layers, int) else list(layers)
        self.inputs.append(
            {"steered": list(prompts), "alpha": alpha, "layers": chosen, "max_new_tokens": max_new_tokens}
        )
        return chosen, ("steered", _vector_digest(vector, chosen), alpha, tuple(chosen), tuple(prompts), max_new_tokens)

    def steered(
        self, vector: Any, alpha: float, layers: int | Sequence[int], prompts: Sequence[str], max_new_tokens: int
    ) -> list[str]:
        """Greedy answers while steering with ``alpha * vector`` at ``layers`` (every position)."""
        # deferred: imports deal, icontract only when this runs, not at module import
        from steering_core.generate import generate
        from steering_core.steer import steer

        chosen, key = self.steered_input(vector, alpha, layers, prompts, max_new_tokens)
        if key not in self._answers:
            self.log(f"generating {len(prompts)} answers (alpha {alpha:.4g} at layers {chosen})")
            with steer(self.loaded, vector, alpha, layers=chosen):
                self._answers[key] = generate(self.loaded, list(prompts), max_new_tokens)
        return list(self._answers[key])


def _vector_digest(vector: Any, layers: Sequence[int]) -> str:
    """sha256 of the float32 bytes of ``vector`` at ``layers`` (a cache key that survives object reuse)."""
    import hashlib

    digest = hashlib.sha256()
    for layer in layers:
        tensor = vector[layer] if not isinstance(vector, torch.Tensor) else vector
        digest.update(tensor.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()
