"""Which model a steering vector was made for, and the check that it is applied to that model.

A :class:`~steering_core.vector.SteeringVector` records ``model_name`` and ``num_layers``.
:func:`check_same_model` compares them with the model being steered:

* ``num_layers``: when the vector records it, it must equal the model's decoder-layer count;
* ``model_name``: when both the vector and the model have a name, the names must denote the same
  model after canonicalisation (:func:`canonical_name`: an embedded alias becomes the embedded
  model's name, a local folder its resolved path, or the embedded model it was prepared from).

A model's names are the tag :func:`tag_model` leaves on it (``load_model`` tags every model it
loads with its name) and ``config._name_or_path``. A model with neither (e.g. one built from a
config) has no name, and only the layer count is compared. A vector without a name or layer
count is not refused for what it does not record.

Callers that deliberately steer one model with another's vector (a transfer experiment) opt
in with ``steer(..., allow_other_model=True)``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from torch import nn

from steering_core.errors import ModelMismatchError
from steering_core.layers import locate
from steering_core.models import _MARKER, NAME_ATTR, resolve_embedded, tag_model

if TYPE_CHECKING:
    from steering_core.vector import SteeringVector

__all__ = ["NAME_ATTR", "canonical_name", "check_same_model", "model_names", "tag_model"]


def model_names(model: nn.Module) -> set[str]:
    """Every name the model is known by: its tag and ``config._name_or_path`` (empty when unnamed)."""
    names: set[str] = set()
    base, _ = locate(model)
    for module in (model, base):
        tag = getattr(module, NAME_ATTR, None)
        if isinstance(tag, str) and tag:
            names.add(tag)
        path = getattr(getattr(module, "config", None), "_name_or_path", None)
        if isinstance(path, str) and path:
            names.add(path)
    return names


def canonical_name(name: str) -> str:
    """One spelling per model: the embedded name for an alias or a folder prepared from it, the
    resolved path for any other existing local folder, the name itself otherwise."""
    embedded = resolve_embedded(name)
    if embedded is not None:
        return embedded.name
    try:
        path = Path(name).expanduser()
        if not path.exists():
            return name
        marker = path / _MARKER
        if marker.is_file() and marker.stat().st_size < 65_536:
            recorded = json.loads(marker.read_text(encoding="utf-8")).get("name")
            if isinstance(recorded, str) and recorded:
                return recorded
        return str(path.resolve())
    except (OSError, ValueError):
        return name


def check_same_model(model: nn.Module, vector: SteeringVector) -> None:
    """Refuse a vector that records another model than ``model`` (see the module docstring).

    Raises:
        ModelMismatchError: another layer count, or another model name.
    """
    n_layers = len(locate(model)[1])
    hint = "pass allow_other_model=True to steer with it anyway"
    if vector.num_layers is not None and vector.num_layers != n_layers:
        raise ModelMismatchError(
            "vector",
            f"a vector for a model with {n_layers} decoder layers ({hint})",
            f"a vector recorded for {vector.num_layers} layers (model {vector.model_name!r})",
        )
    names = model_names(model)
    if vector.model_name is None or not names or vector.model_name in names:
        return
    wanted = {canonical_name(n) for n in names}
    if canonical_name(vector.model_name) not in wanted:
        raise ModelMismatchError(
            "vector",
            f"a vector for model {sorted(wanted)[0]!r} ({hint})",
            f"a vector recorded for model {vector.model_name!r}",
        )
