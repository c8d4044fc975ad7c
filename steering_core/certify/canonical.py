"""Canonical JSON of certificates: :mod:`steering_core.canonical` with the certificate's typed errors.

The encoding and the strict reading are the library's (:func:`steering_core.canonical.canonical_json`,
:func:`steering_core.strict_json.parse_canonical`): keys sorted, compact separators, UTF-8, NaN
and ±inf refused; a text is accepted only when it is *exactly* the canonical encoding of the
value it denotes (so whitespace edits, reordered keys, duplicate keys or escaped spellings of
the same value are all rejected). Here every refusal is a :class:`SchemaError` whose check is
``<what>.canonical``, the name the verification report prints.
"""

from __future__ import annotations

from typing import Any

from steering_core import canonical as _canonical
from steering_core import strict_json
from steering_core.certify.errors import SchemaError
from steering_core.errors import JSONFormatError


def canonical_json(value: Any) -> bytes:
    """The canonical UTF-8 encoding of ``value`` (see :mod:`steering_core.canonical`).

    Raises:
        SchemaError: ``value`` holds NaN/inf or a type JSON cannot encode.
    """
    try:
        return _canonical.canonical_json(value)
    except JSONFormatError as error:
        raise SchemaError("certificate.canonical", error.detail) from None


def no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for :func:`json.loads` that refuses duplicate keys (raises SchemaError)."""
    try:
        return strict_json.no_duplicate_keys(pairs)
    except JSONFormatError as error:
        raise SchemaError("certificate.canonical", error.detail) from None


def parse_canonical(data: bytes | str, what: str = "certificate") -> Any:
    """Parse ``data`` and return the value, only if ``data`` is its canonical encoding.

    Raises:
        SchemaError: not UTF-8, not JSON, duplicate keys, NaN/inf, or not canonical.
    """
    try:
        return strict_json.parse_canonical(data, f"{what}.canonical")
    except JSONFormatError as error:
        raise SchemaError(error.where, error.detail) from None
