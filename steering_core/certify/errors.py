"""Typed errors of certified steering vectors.

Every error names the *check* that failed (a stable identifier such as ``digest`` or
``tensors.finite``, the same names the verification report prints), so callers can tell which
guarantee a file broke without parsing messages. All derive from :class:`CertificateError`,
itself a :class:`steering_core.errors.SteeringError` and a :class:`ValueError`.
"""

from __future__ import annotations

from steering_core.errors import SteeringError


class CertificateError(SteeringError, ValueError):
    """A certified-vector file (or the request to make one) failed a named check.

    Attributes:
        check: the stable name of the failed check (see :mod:`steering_core.certify.verify`).
        detail: what was wrong, in words.
    """

    def __init__(self, check: str, detail: str) -> None:
        self.check = check
        self.detail = detail
        super().__init__(f"{check}: {detail}")


class FileFormatError(CertificateError):
    """The file is not a canonical certified-vector container (truncated, malformed, re-encoded)."""


class SizeLimitError(CertificateError):
    """The file or its metadata header exceeds the stated size limit; nothing past the limit is read."""


class SchemaError(CertificateError):
    """The certificate is not canonical JSON or does not validate against the certificate schema."""


class DigestMismatchError(CertificateError):
    """The sha256 digest over tensor bytes and certificate body differs from the recorded one."""


class SignatureError(CertificateError):
    """A signature is missing where one was required, malformed, invalid, or made with another key."""


class SigningUnavailableError(CertificateError):
    """Ed25519 support (PyNaCl) is not installed."""


class TensorMismatchError(CertificateError):
    """The tensors disagree with the certificate: a missing or extra layer, wrong shape, dtype or norm."""


class NonFiniteTensorError(TensorMismatchError):
    """A tensor holds NaN or ±inf."""


class ModelMismatchError(CertificateError):
    """The certificate was made for another model (identity, width, layer count or fingerprint differ)."""


class MeasurementMismatchError(CertificateError):
    """A quantity re-measured on the model disagrees with the recorded one beyond the stated tolerance."""


class GgufFormatError(CertificateError):
    """A GGUF file is not a usable control vector (another architecture, bad tensor names or types)."""


class CertificationError(CertificateError):
    """``certify`` could not certify the vector (e.g. no α was measured effective)."""
