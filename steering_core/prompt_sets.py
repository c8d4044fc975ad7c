"""Fixed, versioned prompt sets: ``steering_core/data/prompt_sets.json`` (package data), the one source of truth.

Each set has an id with a version suffix and a sha256 digest over its canonical JSON form, so
results can name exactly which prompts they used.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

from steering_core.canonical import sha256_hex
from steering_core.errors import InvalidParameterError

DEFAULT_SET = "neutral-questions-v1"


@lru_cache(maxsize=1)
def _load() -> dict[str, Any]:
    text = resources.files("steering_core").joinpath("data/prompt_sets.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def prompt_set_ids() -> list[str]:
    """Ids of every shipped prompt set."""
    return list(_load()["sets"])


def prompt_set(set_id: str = DEFAULT_SET) -> list[str]:
    """The prompts of set ``set_id``, in order."""
    sets = _load()["sets"]
    if set_id not in sets:
        raise InvalidParameterError("prompt_set", f"one of {list(sets)}", repr(set_id))
    return list(sets[set_id]["prompts"])


def prompts_digest(prompts: Sequence[str]) -> str:
    """sha256 of a prompt list as canonical JSON (:func:`steering_core.canonical.sha256_hex`)."""
    return sha256_hex(list(prompts), "prompts")


def prompt_set_digest(set_id: str = DEFAULT_SET) -> str:
    """sha256 of the set's prompts as canonical JSON (sorted keys, no spaces, UTF-8): :func:`prompts_digest`."""
    return prompts_digest(prompt_set(set_id))
