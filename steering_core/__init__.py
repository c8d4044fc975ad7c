"""steering-spec core: extract, steer and diagnose activation-steering vectors.

The four verbs, each in its own module: :func:`~steering_core.extract.extract` a vector,
:func:`~steering_core.steer.steer` a model with it (a context manager),
:func:`~steering_core.diagnose.residual_norms` / :func:`~steering_core.diagnose.diagnose` to
size it against the residual stream, and :func:`~steering_core.sweep.alpha_sweep` to find
where it works.
"""

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
