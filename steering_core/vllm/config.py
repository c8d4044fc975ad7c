"""Per-request steering configurations for vLLM: terms, validation, the wire format, the cache salt.

Pure Python (no vLLM import), so the driver, the worker and the tests share one definition.

A request carries zero or more :class:`SteerTerm` (vector name, alpha, layers, positions). The
driver resolves them against the registered vectors (:class:`VectorRef`) into
:class:`ResolvedTerm` (the vector's content digest instead of its name), drops the terms with
``alpha == 0`` (they change nothing, exactly as :func:`steering_core.plan.compile_plan` drops
them), and sends the rest to the worker in ``SamplingParams.extra_args[EXTRA_KEY]``.

Cache salt (:func:`cache_salt`): a steered request's KV depends on its steering, so two
requests may share cached prefix blocks only when their whole steering configuration is equal.
The salt is the sha256 of the canonical configuration: for every term, in order, the vector's
content digest, alpha as an exact hexadecimal float, the layers and the positions. A plain
request (no term left) has no salt: it shares cache with other plain requests only, since every
steered request's salt is a 64-hex string that vLLM mixes into its first block's hash.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from steering_core.canonical import canonical_text
from steering_core.errors import InvalidParameterError, LayerOutOfRangeError, NonFiniteError

EXTRA_KEY = "steering_spec"
POSITIONS: tuple[str, ...] = ("all", "prompt", "generated")
SALT_PREFIX = "steering-spec/v1:"


@dataclass(frozen=True)
class VectorRef:
    """A vector registered in the workers: its name, content digest, layers and width."""

    name: str
    digest: str
    layers: tuple[int, ...]
    hidden_size: int


@dataclass(frozen=True)
class SteerTerm:
    """One requested term: add ``alpha * vector[layer]`` after each decoder layer in ``layers``.

    ``layers=None`` means the vector's only layer (a vector holding several layers needs them
    named, as :func:`steering_core.steer.steer` requires). ``positions``: ``all``, ``prompt``
    (token positions ``< prompt length``) or ``generated`` (``>=`` prompt length, so the first
    generated token is steered when it is fed back).
    """

    vector: str
    alpha: float
    layers: int | tuple[int, ...] | None = None
    positions: str = "all"


@dataclass(frozen=True)
class ResolvedTerm:
    """A term checked against the registry (name resolved to the content digest)."""

    vector: str
    digest: str
    alpha: float
    layers: tuple[int, ...]
    positions: str

    def wire(self) -> dict[str, Any]:
        """The JSON-able form sent to the worker (alpha as an exact float)."""
        return {"d": self.digest, "a": self.alpha, "l": list(self.layers), "p": self.positions}


def tensor_digest(layers: Mapping[int, bytes], dtype: str, hidden_size: int) -> str:
    """sha256 over (dtype, width, each layer index and its raw bytes) in layer order."""
    digest = hashlib.sha256(f"{dtype}|{hidden_size}|".encode())
    for layer in sorted(layers):
        digest.update(f"{layer}:".encode())
        digest.update(layers[layer])
    return digest.hexdigest()


def _layers(raw: object, ref: VectorRef, where: str) -> tuple[int, ...]:
    if raw is None:
        if len(ref.layers) != 1:
            raise InvalidParameterError(
                f"{where}.layers", f"the layer(s) to steer (vector {ref.name!r} holds layers {list(ref.layers)})", None
            )
        return ref.layers
    items = [raw] if isinstance(raw, int) and not isinstance(raw, bool) else raw
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence) or not items:
        raise InvalidParameterError(f"{where}.layers", "an int or a non-empty sequence of ints", repr(raw))
    out: list[int] = []
    for layer in items:
        if isinstance(layer, bool) or not isinstance(layer, int):
            raise InvalidParameterError(f"{where}.layers", "ints", repr(layer))
        if layer not in ref.layers:
            raise LayerOutOfRangeError(f"{where}.layers", f"layers of vector {ref.name!r}: {list(ref.layers)}", layer)
        if layer in out:
            raise InvalidParameterError(f"{where}.layers", "distinct layers", f"layer {layer} twice")
        out.append(layer)
    return tuple(out)


def resolve_terms(
    terms: Sequence[SteerTerm], registry: Mapping[str, VectorRef], name: str = "steering"
) -> tuple[ResolvedTerm, ...]:
    """Check ``terms`` against ``registry``; the resolved terms with ``alpha != 0``, in order.

    Raises:
        InvalidParameterError (or a subclass) naming ``name[i].<field>``: not a SteerTerm, an
            unknown vector, a non-finite alpha, unknown positions, layers the vector lacks.
    """
    if isinstance(terms, (str, bytes)) or not isinstance(terms, Sequence):
        raise InvalidParameterError(name, "a sequence of SteerTerm", type(terms).__name__)
    out: list[ResolvedTerm] = []
    for i, term in enumerate(terms):
        where = f"{name}[{i}]"
        if not isinstance(term, SteerTerm):
            raise InvalidParameterError(where, "a steering_core.vllm.SteerTerm", type(term).__name__)
        ref = registry.get(term.vector)
        if ref is None:
            raise InvalidParameterError(f"{where}.vector", f"one of {sorted(registry)}", repr(term.vector))
        if isinstance(term.alpha, bool) or not isinstance(term.alpha, (int, float)):
            raise InvalidParameterError(f"{where}.alpha", "a finite real number", repr(term.alpha))
        alpha = float(term.alpha)
        if not math.isfinite(alpha):
            raise NonFiniteError(f"{where}.alpha", "a finite real number", repr(alpha))
        if term.positions not in POSITIONS:
            raise InvalidParameterError(f"{where}.positions", f"one of {POSITIONS}", repr(term.positions))
        layers = _layers(term.layers, ref, where)
        if alpha != 0.0:
            out.append(ResolvedTerm(ref.name, ref.digest, alpha, layers, term.positions))
    return tuple(out)


def canonical(terms: Sequence[ResolvedTerm]) -> str:
    """The canonical JSON (:mod:`steering_core.canonical`) of a steering configuration (alpha as ``float.hex``)."""
    rows = [[t.digest, float(t.alpha).hex(), list(t.layers), t.positions] for t in terms]
    return canonical_text(rows, "steering")


def cache_salt(terms: Sequence[ResolvedTerm]) -> str | None:
    """The prefix-cache salt of a configuration; None for a plain request (no term)."""
    if not terms:
        return None
    return hashlib.sha256((SALT_PREFIX + canonical(terms)).encode()).hexdigest()


def extra_args(terms: Sequence[ResolvedTerm], tag: str | None = None) -> dict[str, Any] | None:
    """``SamplingParams.extra_args`` for a request (None for a plain request without a tag)."""
    if not terms and tag is None:
        return None
    payload: dict[str, Any] = {"terms": [t.wire() for t in terms]}
    if tag is not None:
        payload["tag"] = tag
    return {EXTRA_KEY: payload}
