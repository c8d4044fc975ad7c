"""Steering plans: what to add to one batch row, as a list of terms, checked once against a model.

A :class:`Term` is ``(vector, alpha, layers, positions)``: add ``alpha * vector[layer]`` to the
output of each layer in ``layers`` at the positions named by ``positions`` (``all``, ``prompt``
or ``generated``). A *plan* is a sequence of terms for one row; the terms of a plan add up, in
order (term ``k`` is added to the output of term ``k-1``, exactly as nested :func:`steer`
contexts do). A row with no plan (or an empty one, or only ``alpha == 0`` terms) is not touched:
it keeps its bits.

:func:`compile_plan` validates a plan against a model once (alpha finite, positions known, the
vector's width and layers through :func:`resolve_directions`) and rounds each delta
``alpha * v`` into the model's dtype (:func:`steering_core.ops.steering_delta`). The result, a
:class:`CompiledPlan`, is what :func:`steering_core.steer.steer_rows` consumes; a server compiles
a request's plan when the request arrives and reuses it at every decoding step.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import torch
from torch import nn

from steering_core.argcheck import check_layers
from steering_core.errors import DeviceMismatchError, InvalidParameterError
from steering_core.layers import hidden_size, locate, model_device, model_dtype
from steering_core.ops import check_finite_scalar, check_vector, steering_delta

if TYPE_CHECKING:  # a type only: steering_core.vector imports steer, which imports this module
    from steering_core.vector import SteeringVector

Positions = Literal["all", "prompt", "generated"]
POSITIONS: tuple[str, ...] = ("all", "prompt", "generated")


@dataclass(frozen=True, kw_only=True)
class Term:
    """One additive steering term of a row's plan (see the module docstring)."""

    vector: SteeringVector | torch.Tensor
    alpha: float
    layers: int | tuple[int, ...] | None = None
    positions: Positions = "all"
    allow_other_model: bool = False  # as in steer(): a vector recording another model is refused


@dataclass(frozen=True, kw_only=True)
class CompiledTerm:
    """A term checked against one model: per-layer vectors and their deltas in the model's dtype."""

    alpha: float
    positions: str
    vectors: Mapping[int, torch.Tensor]
    deltas: Mapping[int, torch.Tensor]


@dataclass(frozen=True, kw_only=True)
class CompiledPlan:
    """A row's plan checked against one model (``terms`` keeps order; zero-alpha terms are dropped)."""

    terms: tuple[CompiledTerm, ...]
    model_ref: weakref.ReferenceType[nn.Module]

    @property
    def layers(self) -> list[int]:
        """Every layer some term steers, sorted."""
        return sorted({layer for t in self.terms for layer in t.deltas})

    @property
    def empty(self) -> bool:
        """True when the plan changes nothing (the row keeps its bits)."""
        return not self.terms


def bound_to(plan: CompiledPlan, model: nn.Module) -> bool:
    """Whether ``plan`` was compiled for ``model`` (the very module that owns its decoder layers)."""
    return plan.model_ref() is locate(model)[0]


def _prefixed(error: InvalidParameterError, prefix: str) -> InvalidParameterError:
    try:
        return type(error)(f"{prefix}.{error.parameter}", error.accepted, error.got)
    except TypeError:  # a subclass with another constructor: keep it as it is
        return error


def resolve_directions(
    model: nn.Module,
    vector: SteeringVector | torch.Tensor,
    layers: int | Iterable[int] | None,
    allow_other_model: bool = False,
) -> dict[int, torch.Tensor]:
    """Validate ``vector`` and ``layers`` against ``model``; the direction of each chosen layer.

    The model side (layout, device, ``allow_other_model``) is checked here, then a raw tensor
    here too; a :class:`SteeringVector` checks itself (:meth:`SteeringVector.directions_for`).
    This module does not import :mod:`steering_core.vector` at run time, so it recognises a
    vector by its type's ``directions_for`` method.

    Raises:
        DeviceMismatchError: the model or a direction is on the ``meta`` device.
        WidthMismatchError, LayerOutOfRangeError, InvalidParameterError, NonFiniteError: bad input.
        ModelMismatchError: a :class:`SteeringVector` recorded for another model (name or layer
            count), unless ``allow_other_model`` is True.
    """
    _, blocks = locate(model)
    n_layers = len(blocks)
    if not isinstance(allow_other_model, bool):
        raise InvalidParameterError("allow_other_model", "True or False", repr(allow_other_model))
    if model_device(model).type == "meta":
        raise DeviceMismatchError("model", "a model with weights (cpu or an accelerator)", "a model on the meta device")
    width = hidden_size(model)
    if isinstance(vector, torch.Tensor):
        if layers is None:
            raise InvalidParameterError("layers", "the layer(s) to steer with a raw tensor", None)
        chosen = check_layers(layers, n_layers)
        check_vector(vector, "vector", width)
        return {layer: vector for layer in chosen}
    if not callable(getattr(type(vector), "directions_for", None)):
        raise InvalidParameterError("vector", "a SteeringVector or a 1-D torch.Tensor", type(vector).__name__)
    return vector.directions_for(model, layers, allow_other_model=allow_other_model)


def compile_term(model: nn.Module, term: Term, name: str = "term") -> CompiledTerm:
    """Check ``term`` against ``model`` and round its deltas into the model's dtype.

    Raises:
        NonFiniteError, InvalidParameterError, WidthMismatchError, LayerOutOfRangeError,
        DtypeMismatchError: bad input, naming ``name.<field>``.
    """
    if not isinstance(term, Term):
        raise InvalidParameterError(name, "a steering_core.plan.Term", type(term).__name__)
    alpha = check_finite_scalar(term.alpha, f"{name}.alpha")
    if term.positions not in POSITIONS:
        raise InvalidParameterError(f"{name}.positions", f"one of {POSITIONS}", repr(term.positions))
    layers: int | Iterable[int] | None = term.layers
    try:
        resolved = resolve_directions(model, term.vector, layers, term.allow_other_model)
        dtype, device = model_dtype(model), model_device(model)
        deltas = {layer: steering_delta(v, alpha, dtype, device) for layer, v in resolved.items()}
    except InvalidParameterError as error:
        raise _prefixed(error, name) from error
    return CompiledTerm(alpha=alpha, positions=term.positions, vectors=resolved, deltas=deltas)


def compile_plan(model: nn.Module, terms: Sequence[Term] | CompiledPlan, name: str = "plan") -> CompiledPlan:
    """Check every term of a row's plan against ``model`` (see :func:`compile_term`).

    A :class:`CompiledPlan` is returned as it is after checking it was compiled for ``model``.
    """
    if isinstance(terms, CompiledPlan):
        if not bound_to(terms, model):
            raise InvalidParameterError(name, "a plan compiled for this model", "a plan compiled for another model")
        return terms
    if isinstance(terms, (str, bytes)) or not isinstance(terms, Sequence):
        raise InvalidParameterError(name, "a sequence of Term", type(terms).__name__)
    compiled = tuple(compile_term(model, t, f"{name}[{i}]") for i, t in enumerate(terms))
    return CompiledPlan(terms=tuple(t for t in compiled if t.alpha != 0.0), model_ref=weakref.ref(locate(model)[0]))
