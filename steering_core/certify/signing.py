"""Optional Ed25519 signatures over a certificate's digest (PyNaCl / libsodium).

What is signed: the ASCII bytes ``steering-spec certified-vector v1 sha256:<digest hex>``
(:func:`signed_message`), i.e. the certificate's sha256 digest with a domain-separation prefix
so a signature can never be replayed as a signature over something else.

Key files are text: 64 hexadecimal characters (32 bytes), surrounding whitespace ignored. A
private key file holds the Ed25519 *seed*; a public key file the verify key.
:func:`generate_keypair` writes both (the private one with mode 0600).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from steering_core.certify.errors import SignatureError

ALGORITHM = "ed25519"
MESSAGE_PREFIX = "steering-spec certified-vector v1 sha256:"
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


def _nacl() -> Any:
    import nacl.exceptions  # PyNaCl is a declared dependency (imported here: only signing needs it)
    import nacl.signing

    return nacl


def signed_message(digest_hex: str) -> bytes:
    """The exact bytes an Ed25519 signature covers for a certificate with digest ``digest_hex``."""
    return (MESSAGE_PREFIX + digest_hex).encode("ascii")


def _hex32(text: str, what: str) -> bytes:
    cleaned = text.strip()
    if not _HEX64.match(cleaned):
        raise SignatureError("signature.key", f"{what} must be 64 hexadecimal characters (32 bytes)")
    return bytes.fromhex(cleaned)


def read_key(path: str | os.PathLike[str], what: str = "key") -> bytes:
    """Read a 32-byte key written as 64 hex characters.

    Raises:
        SignatureError: the file is missing or not 64 hex characters.
    """
    target = Path(path)
    try:
        text = target.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as error:
        raise SignatureError("signature.key", f"cannot read {what} file {target}: {error}") from None
    return _hex32(text, f"{what} file {target}")


def public_key_of(seed: bytes) -> bytes:
    """The Ed25519 verify key of a 32-byte private seed."""
    nacl = _nacl()
    return bytes(nacl.signing.SigningKey(seed).verify_key.encode())


def sign_digest(digest_hex: str, seed: bytes) -> dict[str, str]:
    """The certificate's ``signature`` block: algorithm, public key and signature (hex).

    Pre: ``seed`` is 32 bytes.
    """
    if len(seed) != 32:
        raise SignatureError("signature.key", f"an Ed25519 private seed has 32 bytes, got {len(seed)}")
    nacl = _nacl()
    key = nacl.signing.SigningKey(seed)
    signature = key.sign(signed_message(digest_hex)).signature
    return {
        "algorithm": ALGORITHM,
        "public_key": bytes(key.verify_key.encode()).hex(),
        "value": bytes(signature).hex(),
    }


def verify_signature(digest_hex: str, block: dict[str, Any], trusted_key: bytes | None) -> str:
    """Check a ``signature`` block against the digest; return a one-line description.

    With ``trusted_key``, the block's public key must equal it and the signature must verify.
    Without, the signature must still verify against the key it names (so the file is intact),
    but the description says that the signer is not established.

    Raises:
        SignatureError: malformed block, a key that differs from ``trusted_key``, or a
            signature that does not verify.
    """
    if block.get("algorithm") != ALGORITHM:
        raise SignatureError("signature", f"unsupported signature algorithm {block.get('algorithm')!r}")
    embedded = _hex32(str(block.get("public_key", "")), "the signature's public key")
    value = str(block.get("value", ""))
    if not re.fullmatch(r"[0-9a-f]{128}", value):
        raise SignatureError("signature", "signature value must be 128 lowercase hexadecimal characters")
    if trusted_key is not None and embedded != trusted_key:
        raise SignatureError(
            "signature",
            f"signed by key {embedded.hex()[:16]}..., not by the supplied public key {trusted_key.hex()[:16]}...",
        )
    nacl = _nacl()
    try:
        nacl.signing.VerifyKey(embedded).verify(signed_message(digest_hex), bytes.fromhex(value))
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
        raise SignatureError("signature", "the Ed25519 signature does not verify over the digest") from None
    if trusted_key is None:
        return f"valid Ed25519 signature by key {embedded.hex()[:16]}... (signer NOT checked: no public key supplied)"
    return f"valid Ed25519 signature by the supplied public key {embedded.hex()[:16]}..."


def generate_keypair(private_path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write a new private seed to ``private_path`` (mode 0600) and its public key to ``<path>.pub``.

    Refuses to overwrite an existing file.
    """
    nacl = _nacl()
    private = Path(private_path)
    public = private.with_name(private.name + ".pub")
    for target in (private, public):
        if target.exists():
            raise SignatureError("signature.key", f"{target} exists; refusing to overwrite a key")
    key = nacl.signing.SigningKey.generate()
    private.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(bytes(key.encode()).hex() + "\n")
    public.write_text(bytes(key.verify_key.encode()).hex() + "\n", encoding="ascii")
    return private, public
