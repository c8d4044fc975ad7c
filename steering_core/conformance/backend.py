"""The backend protocol: what an adapter must offer for the conformance kit to check it.

Contract of :meth:`Backend.generate`: greedy decoding, ``max_new_tokens`` new tokens at most per
request, each request's new token ids cut before the first end-of-sequence token; the requests of
one call are served as one batch where the backend can (rows of different lengths are
left-padded by the backend); the result has one list per request, in order. Errors for bad
requests are raised as exceptions (typed, e.g. ``SteeringError``), never returned as tokens.

Capabilities (``Backend.capabilities``) say what the backend claims; a property that needs a
capability the backend lacks is reported "unsupported", never passed:

``steer``        any steering at all
``positions``    ``prompt`` and ``generated`` besides ``all``
``multi_term``   several terms in one request
``cache_toggle`` ``use_cache=False`` is honoured
``mixed_batch``  rows with different plans (and plain rows) in one forward pass
``concurrency``  ``generate`` may be called from several threads at once
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from steering_core.conformance.plan import Request
from steering_core.vector import SteeringVector

CAPABILITIES: tuple[str, ...] = ("steer", "positions", "multi_term", "cache_toggle", "mixed_batch", "concurrency")


@runtime_checkable
class Backend(Protocol):
    """A steering backend under test."""

    name: str
    capabilities: frozenset[str]

    def add_vector(self, name: str, vector: SteeringVector) -> None:
        """Register ``vector`` under ``name`` for later terms (before any ``generate``)."""
        ...

    def generate(self, requests: Sequence[Request], max_new_tokens: int, *, use_cache: bool = True) -> list[list[int]]:
        """Greedy new token ids per request (see the module docstring)."""
        ...

    def state_digest(self) -> str | None:
        """A digest of everything steering could leave behind (weights, hooks, caches) or None
        when the backend cannot expose its state (a remote server)."""
        ...

    def close(self) -> None:
        """Release what the backend holds (servers, temporary folders)."""
        ...
