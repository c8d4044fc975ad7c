"""Steering plans as the conformance kit speaks them: terms that name vectors, and requests.

A :class:`Term` names a vector registered with the backend (``Backend.add_vector``), a finite
``alpha``, the 0-based decoder layers it steers, and the positions (``all``, ``prompt`` or
``generated``). A :class:`Request` is one prompt (a user message, chat-templated by the backend)
with zero or more terms; several terms add up, and no term means a plain request.
"""

from __future__ import annotations

from dataclasses import dataclass

POSITIONS: tuple[str, ...] = ("all", "prompt", "generated")


@dataclass(frozen=True, kw_only=True)
class Term:
    """One steering term: ``alpha * vector`` added at ``layers`` on ``positions``."""

    vector: str
    alpha: float
    layers: tuple[int, ...]
    positions: str = "all"


@dataclass(frozen=True, kw_only=True)
class Request:
    """One prompt with its steering terms (empty: plain)."""

    prompt: str
    terms: tuple[Term, ...] = ()

    @property
    def plain(self) -> bool:
        """True when the request carries no term at all."""
        return not self.terms
