"""CPRR: the conjecture registry, with pre-registered protocols, evidence-gated statuses and citations.

Entries live in ``spec/cprr/<id>.json`` (schema ``spec/cprr/conjecture.schema.json``); see
``spec/cprr/README.md``. Modules: :mod:`~steering_core.cprr.lifecycle` (statuses and
transitions), :mod:`~steering_core.cprr.rules` (decision rules), :mod:`~steering_core.cprr.validate`
(``steer cprr check``), :mod:`~steering_core.cprr.store` (files), :mod:`~steering_core.cprr.runners`
(the ``@runner`` decorator and :class:`~steering_core.cprr.runners.RunContext`),
:mod:`~steering_core.cprr.engine` (run -> evidence), :mod:`~steering_core.cprr.board`,
:mod:`~steering_core.cprr.cite`, :mod:`~steering_core.cprr.cli` (``add_subcommands``).
"""

from __future__ import annotations

from steering_core.cprr.board import BOARD_KEYS, SEED_KEYS, board_rows, seed_rows
from steering_core.cprr.lifecycle import STATUSES

__all__ = ["BOARD_KEYS", "SEED_KEYS", "STATUSES", "board_rows", "seed_rows"]
