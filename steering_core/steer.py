"""Steer a model: add ``alpha * v`` to decoder-layer outputs inside a context manager.

Two entry points share one mechanism (:mod:`steering_core.dispatch`):

* :func:`steer` steers every row of every forward pass with one ``(vector, alpha, layers,
  positions)`` term: the special case of :func:`steer_rows` where every row has the same plan.
* :func:`steer_rows` steers each batch row with its own plan (:mod:`steering_core.plan`): a list
  of terms per row that add up in order, or None for a row that is left exactly as it is.

Contract of :func:`steer` (and, per row, of :func:`steer_rows`):

* Pre: ``alpha`` finite; every vector finite with the model's hidden width; every layer in
  ``[0, num_layers)``; ``positions`` one of ``all``, ``prompt``, ``generated``; the delta
  ``alpha * v`` representable in the model's dtype.
* During: each forward pass adds ``alpha * v[layer]`` to the output of each steered layer at
  exactly the positions named by ``positions`` and never at padding. Positions (and rows) that
  are not steered keep their bits (``torch.where``, not ``h + 0``).
* ``alpha == 0`` installs nothing at all: the model is the unhooked model, bit for bit. A
  :func:`steer_rows` row without a plan keeps its bits the same way.
* Post (normal exit or exception): every hook this context installed is removed, in
  ``finally``, unless another active context still needs it; the model's hook dictionaries
  equal their state on entry once every context has exited.

Threading rule. Steering belongs to the execution context (thread, or asyncio task) that
entered it. A forward pass is steered only by the contexts entered in the thread that runs it:
two threads steering one model object each get exactly their own steering, and a thread that
entered none runs the model unsteered, bit for bit. A worker thread does not inherit its
parent's steering (run it under ``contextvars.copy_context().run`` to share it). ``mode="folded"``
rewrites weights and therefore takes the model exclusively: combining it with steering from
another thread raises :class:`~steering_core.errors.ConcurrentSteeringError`. See
:mod:`steering_core.dispatch`.

Position bookkeeping. A forward pre-hook on the base model (the module that owns the decoder
layers) reads the current call's token count ``S``, the cache length and the 2-D attention
mask. It computes, for each position of the current chunk, its absolute index in the padded
sequence and whether it is padding. The *prompt* of a generation is the input of its first
forward call (cache empty); later calls are continuations when they reuse the cache, or (no
cache) when their input extends the previous call's input by new tokens. Positions with an
absolute index ``>= prompt length`` are *generated*, so with the KV cache the first generated
token is steered the moment it is fed back in, exactly as without the cache.

The per-token path (the layer hook) calls no contract and allocates only the steered output.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import torch
from torch import nn

from steering_core.dispatch import Frame, Op, activate
from steering_core.errors import InvalidParameterError
from steering_core.fold import foldable_linear, folded
from steering_core.hooks import hook_snapshot
from steering_core.layers import locate, model_device, model_dtype
from steering_core.models import LoadedModel, module_of
from steering_core.ops import check_finite_scalar, steering_delta
from steering_core.plan import POSITIONS, CompiledPlan, Positions, Term, compile_plan, resolve_directions

if TYPE_CHECKING:  # a type only: steering_core.vector imports this module (SteeringVector.apply)
    from steering_core.vector import SteeringVector

Mode = Literal["hook", "folded"]
MODES: tuple[str, ...] = ("hook", "folded")
RowPlan = Sequence[Term] | CompiledPlan

__all__ = [
    "MODES",
    "POSITIONS",
    "Mode",
    "Positions",
    "RowPlan",
    "RowSteeringHandle",
    "SteeringHandle",
    "hook_snapshot",
    "steer",
    "steer_rows",
]


@dataclass(kw_only=True)
class SteeringHandle:
    """What :func:`steer` yields: the steered layers, alpha, positions, and the deltas installed."""

    layers: list[int]
    alpha: float
    positions: str
    installed: bool
    deltas: dict[int, torch.Tensor] = field(default_factory=dict)


@dataclass(kw_only=True)
class RowSteeringHandle:
    """What :func:`steer_rows` yields: the compiled plan of each row (None: the row keeps its bits)."""

    plans: list[CompiledPlan | None]
    installed: bool

    @property
    def layers(self) -> list[int]:
        """Every layer some row steers."""
        return sorted({layer for p in self.plans if p is not None for layer in p.layers})


@contextmanager
def steer(
    lm: LoadedModel | nn.Module,
    vector: SteeringVector | torch.Tensor,
    alpha: float,
    layers: int | Iterable[int] | None = None,
    positions: Positions = "all",
    mode: Mode = "hook",
    *,
    allow_other_model: bool = False,
) -> Iterator[SteeringHandle]:
    """Steer ``model`` inside a ``with`` block (see the module docstring for the contract).

    Args:
        lm: the :class:`~steering_core.models.LoadedModel` to steer (or, lower level, the
            module itself: a Hugging Face causal LM or its base model with a supported layout).
        vector: a :class:`SteeringVector` (``layers`` picks which of its layers to use; needed
            when it holds more than one) or a raw 1-D tensor (``layers`` required).
        alpha: the finite scale of the step; the delta is ``alpha * v`` in the model's dtype.
        layers: decoder-layer index or indices (0-based).
        positions: ``all`` (every non-padding position), ``prompt`` or ``generated``.
        mode: ``hook`` (forward hooks, every position mode) or ``folded`` (``alpha * v`` added to
            the bias of each steered layer's ``mlp.down_proj``: no per-token cost, exact within
            float rounding, ``positions="all"`` only; see :mod:`steering_core.fold`).
        allow_other_model: steer with a :class:`SteeringVector` that records another model
            (another name or layer count; see :mod:`steering_core.identity`). Off by default:
            such a vector is refused with :class:`~steering_core.errors.ModelMismatchError`.

    Yields:
        A :class:`SteeringHandle`.

    Raises:
        NonFiniteError, WidthMismatchError, LayerOutOfRangeError, InvalidParameterError,
        DtypeMismatchError, DeviceMismatchError, ModelMismatchError: bad input, before anything
            is installed.
        ConcurrentSteeringError: ``mode="folded"`` while another thread steers the model, or
            any mode while another thread holds it folded.
    """
    model: nn.Module = module_of(lm)
    alpha = check_finite_scalar(alpha, "alpha")
    if positions not in POSITIONS:
        raise InvalidParameterError("positions", f"one of {POSITIONS}", repr(positions))
    if mode not in MODES:
        raise InvalidParameterError("mode", f"one of {MODES}", repr(mode))
    if mode == "folded" and positions != "all":
        raise InvalidParameterError(
            "mode", "'hook' for positions='prompt' or 'generated' (a folded bias acts on every position)", "'folded'"
        )
    resolved = resolve_directions(model, vector, layers, allow_other_model)
    dtype, device = model_dtype(model), model_device(model)
    deltas = {layer: steering_delta(v, alpha, dtype, device) for layer, v in resolved.items()}
    base, blocks = locate(model)
    if mode == "folded":
        for layer in deltas:
            foldable_linear(blocks[layer], layer)  # refuse before anything changes, even for alpha = 0
    if alpha == 0.0:
        yield SteeringHandle(layers=sorted(resolved), alpha=alpha, positions=positions, installed=False)
        return
    if mode == "folded":
        with activate(Frame(base, blocks, {}, folded=True)), folded(model, deltas):
            yield SteeringHandle(layers=sorted(deltas), alpha=alpha, positions=positions, installed=True, deltas=deltas)
        return
    ops = {layer: [Op(delta, (resolved[layer],), (alpha,), positions)] for layer, delta in deltas.items()}
    with activate(Frame(base, blocks, ops)):
        yield SteeringHandle(layers=sorted(deltas), alpha=alpha, positions=positions, installed=True, deltas=deltas)


def _row_ops(plans: Sequence[CompiledPlan | None]) -> dict[int, list[Op]]:
    """Per layer, the ops of a per-row frame: slot ``k`` holds the ``k``-th term of each row there."""
    rows = len(plans)
    per_layer: dict[int, list[list[tuple[torch.Tensor, torch.Tensor, float, str]]]] = {}
    for plan in plans:
        if plan is None:
            continue
        for term in plan.terms:
            for layer in term.deltas:
                per_layer.setdefault(layer, [[] for _ in range(rows)])
    for row, plan in enumerate(plans):
        if plan is None:
            continue
        for term in plan.terms:
            for layer, delta in term.deltas.items():
                per_layer[layer][row].append((delta, term.vectors[layer], term.alpha, term.positions))
    ops: dict[int, list[Op]] = {}
    for layer in sorted(per_layer):
        by_row = per_layer[layer]
        slots = max(len(r) for r in by_row)
        layer_ops: list[Op] = []
        for k in range(slots):
            present = [r[k] if k < len(r) else None for r in by_row]
            sample = next(p for p in present if p is not None)[0]
            zero = torch.zeros_like(sample)
            layer_ops.append(
                Op(
                    torch.stack([zero if p is None else p[0] for p in present]),
                    tuple(None if p is None else p[1] for p in present),
                    tuple(0.0 if p is None else p[2] for p in present),
                    tuple(None if p is None else p[3] for p in present),
                    rows=rows,
                )
            )
        ops[layer] = layer_ops
    return ops


@contextmanager
def steer_rows(lm: LoadedModel | nn.Module, plans: Sequence[RowPlan | None]) -> Iterator[RowSteeringHandle]:
    """Steer each batch row with its own plan inside a ``with`` block.

    Every forward pass of the base model inside the block must have ``len(plans)`` rows; row
    ``r`` is steered by ``plans[r]`` (terms add up in order, as nested :func:`steer` contexts
    do) and a row whose plan is None (or empty) keeps its bits. Left padding, the KV cache and
    ``positions`` work per row exactly as in :func:`steer`, so a row steered here equals the same
    row under :func:`steer` with its plan's terms.

    Args:
        lm: the :class:`~steering_core.models.LoadedModel` to steer (or the module itself, as
            for :func:`steer`).
        plans: one entry per batch row: a sequence of :class:`~steering_core.plan.Term`, a
            :class:`~steering_core.plan.CompiledPlan` (compiled for this model), or None.

    Yields:
        A :class:`RowSteeringHandle`.

    Raises:
        InvalidParameterError (and its subclasses): bad plans, naming ``plans[r][k].<field>``,
            before anything is installed; during the block, a forward pass whose batch is not
            ``len(plans)``.
        ConcurrentSteeringError: another thread holds the model folded.
    """
    model: nn.Module = module_of(lm)
    if isinstance(plans, (str, bytes)) or not isinstance(plans, Sequence):
        raise InvalidParameterError("plans", "a sequence with one plan (or None) per batch row", type(plans).__name__)
    if not plans:
        raise InvalidParameterError("plans", "at least one row", "an empty sequence")
    compiled = [None if p is None else compile_plan(model, p, f"plans[{r}]") for r, p in enumerate(plans)]
    compiled = [None if p is None or p.empty else p for p in compiled]
    ops = _row_ops(compiled)
    if not ops:
        yield RowSteeringHandle(plans=compiled, installed=False)
        return
    base, blocks = locate(model)
    with activate(Frame(base, blocks, ops, rows=len(compiled))):
        yield RowSteeringHandle(plans=compiled, installed=True)
