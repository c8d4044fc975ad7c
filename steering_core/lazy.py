"""Lazy package exports (PEP 562): a package names its public objects without importing them.

A package ``__init__`` lists ``{name: module}`` and defines
``def __getattr__(name): return lazy_attribute(__name__, EXPORTS, name)``: the module loads on
first access of one of its names. Importing the package (or any of its submodules, which runs
the package ``__init__`` first) then costs nothing, which keeps ``steer --help`` fast and the
import graph free of package -> submodule -> package cycles.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from typing import Any


def lazy_attribute(package: str, exports: Mapping[str, str], name: str) -> Any:
    """The object ``name`` of ``package``, imported from ``exports[name]`` and cached on the package.

    Raises:
        AttributeError: ``name`` is not exported (as for any missing module attribute).
    """
    module = exports.get(name)
    if module is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    setattr(sys.modules[package], name, value)
    return value
