"""Canonical JSON and its sha256: the one byte encoding every recorded digest of the project uses.

Canonical form: object keys sorted (by code point), compact separators ``,`` and ``:``, no
whitespace, non-ASCII characters written as UTF-8 (not ``\\u`` escapes), numbers as Python's
shortest round-trip ``repr`` for floats and plain decimal for ints, NaN and ±inf refused.

Certificates (:mod:`steering_core.certify`), CPRR protocols and evidence chains
(:mod:`steering_core.cprr.digests`), execution cells (:mod:`steering_core.execute.cell`), lens
documents, prompt-set digests and contrast-pair digests are all the sha256 of this encoding,
so one value has one digest everywhere. Changing anything here changes recorded digests: the
tests over the committed certificates, the CPRR registry and the lens/prompt-set pins catch it.

Reading a canonical text back strictly is :func:`steering_core.strict_json.parse_canonical`.
This module is part of the library layer: it imports nothing from the tooling layer.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from steering_core.errors import JSONFormatError


def canonical_json(value: Any, where: str = "value") -> bytes:
    """The canonical UTF-8 encoding of ``value`` (see the module docstring).

    Raises:
        JSONFormatError: ``value`` holds NaN/inf, a lone surrogate, a type JSON cannot encode,
            or is nested too deeply (``where`` names it in the message).
    """
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return text.encode("utf-8")
    except (TypeError, ValueError, RecursionError) as error:  # UnicodeEncodeError (lone surrogates) is a ValueError
        raise JSONFormatError(where, f"not encodable as canonical JSON: {error}") from None


def canonical_text(value: Any, where: str = "value") -> str:
    """:func:`canonical_json` as a ``str`` (the same characters, not yet encoded)."""
    return canonical_json(value, where).decode("utf-8")


def sha256_hex(value: Any, where: str = "value") -> str:
    """Hex sha256 (64 lowercase hex digits) of the canonical encoding of ``value``.

    Raises:
        JSONFormatError: as :func:`canonical_json`.
    """
    return hashlib.sha256(canonical_json(value, where)).hexdigest()
