"""Strict JSON reading: the one parser for files and texts whose exact content matters.

:func:`loads_strict` is :func:`json.loads` that refuses what the standard library accepts
silently: a duplicate object key (the last one would win), the non-standard constants
``NaN``, ``Infinity`` and ``-Infinity``, and nesting deep enough to exhaust the recursion
limit. :func:`parse_canonical` additionally requires the text to be *exactly* the canonical
encoding (:mod:`steering_core.canonical`) of the value it denotes, so whitespace edits,
reordered keys, escaped spellings or non-shortest numbers are all rejected.

Every refusal is a :class:`~steering_core.errors.JSONFormatError` naming what was read
(``where``) and what was wrong; callers in the tooling layer re-raise it as their own typed
error (a certificate's ``SchemaError``, a CPRR ``EntryError``). Library layer: imports nothing
from the tooling layer.
"""

from __future__ import annotations

import json
from typing import Any

from steering_core.canonical import canonical_json
from steering_core.errors import JSONFormatError


def no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for :func:`json.loads` that refuses duplicate keys.

    Raises:
        JSONFormatError: a key occurs twice in one object (``where`` is ``"json"``).
    """
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JSONFormatError("json", f"duplicate key {key!r}")
        out[key] = value
    return out


def _refuse_constant(name: str) -> Any:
    raise JSONFormatError("json", f"non-finite number {name} is not allowed")


def loads_strict(text: str | bytes, where: str = "json") -> Any:
    """Parse ``text`` (UTF-8 when bytes) refusing duplicate keys, NaN/±Infinity and runaway nesting.

    Raises:
        JSONFormatError: not UTF-8, not JSON, a duplicate key, a non-finite constant, or nested
            too deeply; ``where`` names the source in the error.
    """
    if isinstance(text, (bytes, bytearray, memoryview)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as error:
            raise JSONFormatError(where, f"not valid UTF-8 ({error.reason} at byte {error.start})") from None
    try:
        return json.loads(text, object_pairs_hook=no_duplicate_keys, parse_constant=_refuse_constant)
    except JSONFormatError as error:
        raise JSONFormatError(where, error.detail) from None
    except json.JSONDecodeError as error:
        raise JSONFormatError(where, f"not valid JSON ({error.msg} at char {error.pos})") from None
    except RecursionError:
        raise JSONFormatError(where, "JSON nested too deeply") from None


def parse_canonical(data: bytes | str, where: str = "json") -> Any:
    """Parse ``data`` and return the value, only if ``data`` is its canonical encoding.

    Raises:
        JSONFormatError: as :func:`loads_strict`, or the text is not in canonical form.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    value = loads_strict(raw, where)
    if canonical_json(value, where) != raw:
        raise JSONFormatError(where, "not in canonical form (sorted keys, compact separators, UTF-8, no whitespace)")
    return value
