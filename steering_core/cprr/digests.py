"""Canonical JSON digests of protocols, evidence records and history events.

Canonical form (:mod:`steering_core.canonical`, the same as certificates): keys sorted,
separators ``,``/``:``, UTF-8, floats as Python's shortest round-trip ``repr``, NaN/inf refused.
A *sealed* item (evidence record or history event) carries ``previous`` (the ``sha256`` of the
item before it in its list, ``None`` for the first) and ``sha256``, the digest of its canonical
JSON *without* the ``sha256`` key.
Because each digest covers the previous one, the last record's digest commits to the whole
list: it is the entry's *evidence digest* (``evidence_sha256``) that citations name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from steering_core import canonical as _canonical
from steering_core.cprr.errors import MeasurementError
from steering_core.errors import JSONFormatError


def canonical(value: Any) -> bytes:
    """The canonical UTF-8 encoding of ``value``.

    Raises:
        MeasurementError: ``value`` holds NaN/inf or a type JSON cannot encode.
    """
    try:
        return _canonical.canonical_json(value)
    except JSONFormatError as error:
        raise MeasurementError(error.detail) from None


def sha256_of(value: Any) -> str:
    """Hex sha256 of the canonical encoding of ``value`` (:func:`steering_core.canonical.sha256_hex`).

    Raises:
        MeasurementError: as :func:`canonical`.
    """
    try:
        return _canonical.sha256_hex(value)
    except JSONFormatError as error:
        raise MeasurementError(error.detail) from None


def protocol_digest(protocol: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a protocol (the id evidence records are filed under)."""
    return sha256_of(protocol)


def item_digest(item: dict[str, Any]) -> str:
    """sha256 of a sealed item's canonical JSON without its ``sha256`` key."""
    return sha256_of({k: v for k, v in item.items() if k != "sha256"})


def seal(item: dict[str, Any], previous: str | None) -> dict[str, Any]:
    """A copy of ``item`` with ``previous`` set and ``sha256`` computed (key order: item's, then those two)."""
    out = {k: v for k, v in item.items() if k not in ("previous", "sha256")}
    out["previous"] = previous
    out["sha256"] = item_digest(out)
    return out


def chain_problems(items: Sequence[dict[str, Any]], what: str) -> list[str]:
    """Every break in a sealed list: a wrong ``previous`` link or a digest that does not match the content."""
    problems: list[str] = []
    previous: str | None = None
    for index, item in enumerate(items):
        if item.get("previous") != previous:
            expected = f"{what}[{index - 1}]" if index else "nothing (it is the first item)"
            problems.append(f"{what}[{index}]: 'previous' does not link to {expected} (removed or reordered)")
        if item.get("sha256") != item_digest(item):
            problems.append(f"{what}[{index}]: sha256 does not match its content (edited after it was sealed)")
        previous = item.get("sha256")
    return problems


def chain_head(items: Sequence[dict[str, Any]]) -> str | None:
    """The digest of the last sealed item (commits to the whole list), ``None`` for an empty list."""
    return str(items[-1]["sha256"]) if items else None
