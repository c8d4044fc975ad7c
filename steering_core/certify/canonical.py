"""Canonical JSON: the one byte encoding of a JSON value that certificates and digests use.

Canonical form: object keys sorted (by code point), compact separators ``,`` and ``:``, no
whitespace, non-ASCII characters written as UTF-8 (not ``\\u`` escapes), numbers as Python's
shortest round-trip ``repr`` for floats and plain decimal for ints, NaN and ±inf refused.
:func:`parse_canonical` accepts a text only when it is *exactly* the canonical encoding of the
value it denotes (so whitespace edits, reordered keys, duplicate keys or escaped spellings of
the same value are all rejected).
"""

from __future__ import annotations

import json
from typing import Any

from steering_core.certify.errors import SchemaError


def canonical_json(value: Any) -> bytes:
    """The canonical UTF-8 encoding of ``value`` (see the module docstring).

    Raises:
        SchemaError: ``value`` holds NaN/inf or a type JSON cannot encode.
    """
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return text.encode("utf-8")
    except (TypeError, ValueError, RecursionError) as error:  # UnicodeEncodeError (lone surrogates) is a ValueError
        raise SchemaError("certificate.canonical", f"not encodable as canonical JSON: {error}") from None


def no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for :func:`json.loads` that refuses duplicate keys (raises SchemaError)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise SchemaError("certificate.canonical", f"duplicate key {key!r}")
        out[key] = value
    return out


def _refuse_constant(name: str) -> Any:
    raise SchemaError("certificate.canonical", f"non-finite number {name} is not allowed")


def parse_canonical(data: bytes | str, what: str = "certificate") -> Any:
    """Parse ``data`` and return the value, only if ``data`` is its canonical encoding.

    Raises:
        SchemaError: not UTF-8, not JSON, duplicate keys, NaN/inf, or not canonical.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SchemaError(f"{what}.canonical", f"not valid UTF-8 ({error.reason} at byte {error.start})") from None
    try:
        value = json.loads(text, object_pairs_hook=no_duplicate_keys, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise SchemaError(f"{what}.canonical", f"not valid JSON ({error.msg} at char {error.pos})") from None
    except RecursionError:
        raise SchemaError(f"{what}.canonical", "JSON nested too deeply") from None
    if canonical_json(value) != raw:
        raise SchemaError(
            f"{what}.canonical", "not in canonical form (sorted keys, compact separators, UTF-8, no whitespace)"
        )
    return value
