"""steering-spec core: extract, steer and diagnose activation-steering vectors.

The four verbs, each in its own module: :func:`~steering_core.extract.extract` a vector,
:func:`~steering_core.steer.steer` a model with it (a context manager),
:func:`~steering_core.diagnose.residual_norms` / :func:`~steering_core.diagnose.diagnose` to
size it against the residual stream, and :func:`~steering_core.sweep.alpha_sweep` to find
where it works.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from steering_core.diagnose import diagnose, residual_norms
    from steering_core.errors import SteeringError
    from steering_core.extract import extract
    from steering_core.generate import generate, steered_generate
    from steering_core.models import LoadedModel, load_model
    from steering_core.plan import Term
    from steering_core.steer import steer, steer_rows
    from steering_core.styles import ContrastPair, Style, get_style, make_style
    from steering_core.sweep import alpha_sweep
    from steering_core.vector import Recipe, SteeringVector

# The public names, each with the module that defines it. They load on first use (PEP 562), so
# that `import steering_core` (and `steer --help`, whose module lives in this package) costs no
# torch import: deferred on purpose, torch alone takes seconds at start-up.
_EXPORTS: dict[str, str] = {
    "ContrastPair": "steering_core.styles",
    "LoadedModel": "steering_core.models",
    "Recipe": "steering_core.vector",
    "SteeringError": "steering_core.errors",
    "SteeringVector": "steering_core.vector",
    "Style": "steering_core.styles",
    "Term": "steering_core.plan",
    "alpha_sweep": "steering_core.sweep",
    "diagnose": "steering_core.diagnose",
    "extract": "steering_core.extract",
    "generate": "steering_core.generate",
    "get_style": "steering_core.styles",
    "load_model": "steering_core.models",
    "make_style": "steering_core.styles",
    "residual_norms": "steering_core.diagnose",
    "steer": "steering_core.steer",
    "steer_rows": "steering_core.steer",
    "steered_generate": "steering_core.generate",
}


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first access (see ``_EXPORTS``)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


class _Package(ModuleType):
    """This package's module type: a public name never turns into the submodule of the same name.

    Importing ``steering_core.steer`` makes Python bind the package attribute ``steer`` to that
    submodule; the public ``steering_core.steer`` is the function (``extract``, ``generate`` and
    ``diagnose`` likewise), as it was when this package imported them eagerly.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, ModuleType) and _EXPORTS.get(name) == value.__name__:
            value = getattr(value, name, value)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__all__ = [
    "ContrastPair",
    "LoadedModel",
    "Recipe",
    "SteeringError",
    "SteeringVector",
    "Style",
    "Term",
    "alpha_sweep",
    "diagnose",
    "extract",
    "generate",
    "get_style",
    "load_model",
    "make_style",
    "residual_norms",
    "steer",
    "steer_rows",
    "steered_generate",
]
