"""CPRR: the conjecture registry, with pre-registered protocols, evidence-gated statuses and citations.

Entries live in the package data, ``steering_core/data/cprr/<id>.json`` (schema
``conjecture.schema.json`` next to them); see ``spec/cprr/README.md``. Modules:
:mod:`~steering_core.cprr.lifecycle` (statuses and transitions), :mod:`~steering_core.cprr.rules`
(decision rules), :mod:`~steering_core.cprr.validate`
(``steer cprr check``), :mod:`~steering_core.cprr.store` (files), :mod:`~steering_core.cprr.runners`
(the ``@runner`` decorator and :class:`~steering_core.cprr.runners.RunContext`),
:mod:`~steering_core.cprr.engine` (run -> evidence), :mod:`~steering_core.cprr.board`,
:mod:`~steering_core.cprr.cite`, :mod:`~steering_core.cprr.cli` (``add_subcommands``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from steering_core.lazy import lazy_attribute

if TYPE_CHECKING:
    from steering_core.cprr.board import BOARD_KEYS, SEED_KEYS, board_rows, seed_rows

# deferred: each name loads its module on first use, so importing the package (e.g. for one
# light submodule, or while `steer --help` builds its parser) pulls in nothing heavy.
STATUSES: tuple[str, ...] = ("open", "testing", "confirmed", "refuted", "proved")
"""Every status of a conjecture (the transitions are in :mod:`.lifecycle`)."""
CITATION_FORMATS: tuple[str, ...] = ("bibtex", "cff", "latex")
"""The formats of ``steer cprr cite`` (:mod:`.cite`)."""

_EXPORTS: dict[str, str] = {
    "BOARD_KEYS": "steering_core.cprr.board",
    "SEED_KEYS": "steering_core.cprr.board",
    "board_rows": "steering_core.cprr.board",
    "seed_rows": "steering_core.cprr.board",
}


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _EXPORTS, name)


__all__ = ["BOARD_KEYS", "CITATION_FORMATS", "SEED_KEYS", "STATUSES", "board_rows", "seed_rows"]
