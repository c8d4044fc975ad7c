"""Load ``steering_core/data/conformance.toml``: each conformance property once, with its oracle and tolerance.

The file ships with the package (``steering_core/data/conformance.toml``) and is read through
:mod:`importlib.resources`, so an installed package finds it outside a checkout.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from steering_core.conformance.backend import CAPABILITIES
from steering_core.errors import InvalidParameterError

ORACLES: tuple[str, ...] = ("reference", "plain", "self")
_FIELDS: tuple[str, ...] = ("id", "title", "statement", "oracle", "needs", "tolerance", "why")


@dataclass(frozen=True, kw_only=True)
class ConformanceProperty:
    """One entry of the conformance spec."""

    id: str
    title: str
    statement: str
    oracle: str
    needs: tuple[str, ...]
    tolerance: str
    why: str


@dataclass(frozen=True, kw_only=True)
class ConformanceSpec:
    """The parsed spec: the properties in file order and the agreement tolerances."""

    properties: tuple[ConformanceProperty, ...]
    tie_margin: float
    max_ties: int

    def get(self, property_id: str) -> ConformanceProperty:
        """The property ``property_id`` (InvalidParameterError naming the known ids otherwise)."""
        for prop in self.properties:
            if prop.id == property_id:
                return prop
        raise InvalidParameterError("property", f"one of {[p.id for p in self.properties]}", repr(property_id))


def load_spec(path: str | Path | None = None) -> ConformanceSpec:
    """Parse and check the conformance spec (the packaged one when ``path`` is None).

    Raises:
        InvalidParameterError: a missing field, an unknown oracle or capability, a duplicate id.
    """
    if path is None:
        text = resources.files("steering_core").joinpath("data/conformance.toml").read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    data = tomllib.loads(text)
    props: list[ConformanceProperty] = []
    for raw in data.get("property", []):
        missing = [f for f in _FIELDS if f not in raw]
        if missing:
            raise InvalidParameterError("conformance.toml", f"every property with {_FIELDS}", f"missing {missing}")
        if raw["oracle"] not in ORACLES:
            raise InvalidParameterError(f"{raw['id']}.oracle", f"one of {ORACLES}", repr(raw["oracle"]))
        unknown = [n for n in raw["needs"] if n not in CAPABILITIES]
        if unknown:
            raise InvalidParameterError(f"{raw['id']}.needs", f"capabilities among {CAPABILITIES}", repr(unknown))
        if any(p.id == raw["id"] for p in props):
            raise InvalidParameterError("conformance.toml", "unique property ids", repr(raw["id"]))
        props.append(
            ConformanceProperty(
                id=str(raw["id"]),
                title=str(raw["title"]),
                statement=str(raw["statement"]),
                oracle=str(raw["oracle"]),
                needs=tuple(str(n) for n in raw["needs"]),
                tolerance=str(raw["tolerance"]),
                why=str(raw["why"]),
            )
        )
    return ConformanceSpec(
        properties=tuple(props),
        tie_margin=float(data["default_tie_margin"]),
        max_ties=int(data["default_max_ties"]),
    )
