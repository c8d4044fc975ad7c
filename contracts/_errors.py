"""Lazy access to :mod:`steering_core.errors` (see the note in :mod:`contracts.api`).

``E.NonFiniteError(...)`` imports ``steering_core.errors`` on first use, after every module
involved has finished initialising.
"""

from __future__ import annotations

import importlib
from typing import Any


def __getattr__(name: str) -> Any:
    module = importlib.import_module("steering_core.errors")
    return getattr(module, name)
