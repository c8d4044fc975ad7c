"""Optional Ed25519 signatures: signed, unsigned, wrong key, missing, tampered."""

from __future__ import annotations

import argparse
import copy
import stat
from pathlib import Path

import pytest

from steering_core.certify import (
    CertifiedVector,
    SignatureError,
    load_certified,
    seal,
    verify_bytes,
    write_certified,
)
from steering_core.certify.cli import add_subcommands
from steering_core.certify.signing import (
    generate_keypair,
    public_key_of,
    read_key,
    sign_digest,
    signed_message,
    verify_signature,
)
from tests.certify.conftest import flip, leftovers, reencode

SEED = bytes(range(32))
OTHER_SEED = bytes(range(1, 33))


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="steer")
    add_subcommands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


@pytest.fixture(scope="module")
def signed(tiny_certified: CertifiedVector) -> CertifiedVector:
    return seal(tiny_certified.tensors, tiny_certified.body, SEED)


def test_signature_is_over_the_digest(signed: CertifiedVector, tiny_certified: CertifiedVector) -> None:
    assert signed.digest == tiny_certified.digest, "the signature is outside the digest"
    block = signed.certificate["signature"]
    assert block["algorithm"] == "ed25519" and block["public_key"] == public_key_of(SEED).hex()
    import nacl.signing

    nacl.signing.VerifyKey(public_key_of(SEED)).verify(signed_message(signed.digest), bytes.fromhex(block["value"]))


def test_signed_file_verifies_with_the_right_key(tmp_path: Path, signed: CertifiedVector) -> None:
    report = verify_bytes(signed.to_bytes(), public_key=public_key_of(SEED))
    assert report.ok, report.render()
    assert "valid Ed25519 signature by the supplied public key" in report.render()
    assert "result: VERIFIED (signed)" in report.render()
    path = write_certified(tmp_path / "s.safetensors", signed)
    assert load_certified(path, public_key=public_key_of(SEED)).metadata["signed"] is True


def test_signed_file_without_a_key_says_the_signer_is_unchecked(signed: CertifiedVector) -> None:
    report = verify_bytes(signed.to_bytes())
    assert report.ok
    assert "signer NOT checked" in report.render()


def test_wrong_key(tmp_path: Path, signed: CertifiedVector) -> None:
    path = write_certified(tmp_path / "s.safetensors", signed)
    with pytest.raises(SignatureError, match="not by the supplied public key"):
        load_certified(path, public_key=public_key_of(OTHER_SEED))


def test_missing_signature_when_a_key_is_required(tmp_path: Path, tiny_file: Path) -> None:
    with pytest.raises(SignatureError, match="UNSIGNED"):
        load_certified(tiny_file, public_key=public_key_of(SEED))


def test_unsigned_is_reported_as_unsigned(tiny_bytes: bytes) -> None:
    report = verify_bytes(tiny_bytes)
    assert report.ok and report.signed is False
    assert "[WARN] signature" in report.render() and "UNSIGNED" in report.render()


def test_tampered_signature_fails_even_without_a_key(signed: CertifiedVector) -> None:
    cert = copy.deepcopy(signed.certificate)
    value = bytearray.fromhex(cert["signature"]["value"])
    value[0] ^= 1
    cert["signature"]["value"] = value.hex()
    report = verify_bytes(reencode(signed.tensors, cert))
    assert isinstance(report.first_error(), SignatureError)


def test_signature_moved_to_other_content_fails(tiny_certified: CertifiedVector, signed: CertifiedVector) -> None:
    """A valid signature block copied onto a different (validly sealed) certificate does not verify."""
    body = copy.deepcopy(tiny_certified.body)
    body["created"] = "2030-01-01T00:00:00Z"
    other = seal(tiny_certified.tensors, body)
    cert = copy.deepcopy(other.certificate)
    cert["signature"] = signed.certificate["signature"]
    report = verify_bytes(reencode(other.tensors, cert), public_key=public_key_of(SEED))
    assert isinstance(report.first_error(), SignatureError)


def test_every_byte_flip_of_a_signed_file_fails(signed: CertifiedVector) -> None:
    data = signed.to_bytes()
    start = data.index(b'\\"signature\\":{')  # inside the header the certificate is a JSON string
    for i in range(start, start + 300):
        assert not verify_bytes(flip(data, i)).ok, i


def test_signature_block_checks() -> None:
    block = sign_digest("ab" * 32, SEED)
    assert "supplied" in verify_signature("ab" * 32, block, public_key_of(SEED))
    with pytest.raises(SignatureError):
        verify_signature("cd" * 32, block, None)
    with pytest.raises(SignatureError):
        verify_signature("ab" * 32, {**block, "algorithm": "rsa"}, None)
    with pytest.raises(SignatureError):
        verify_signature("ab" * 32, {**block, "value": "zz"}, None)
    with pytest.raises(SignatureError):
        sign_digest("ab" * 32, b"short")


def test_keygen_and_cli_sign_verify(tmp_path: Path, tiny_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    private, public = generate_keypair(tmp_path / "keys" / "me")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert public_key_of(read_key(private)) == read_key(public)
    with pytest.raises(SignatureError, match="refusing to overwrite"):
        generate_keypair(private)
    assert run_cli(["verify", str(tiny_file), "--public-key", str(public)]) == 1
    assert "signature is required" in capsys.readouterr().out
    assert run_cli(["keygen", "--out", str(tmp_path / "k2")]) == 0
    assert sorted(leftovers(tmp_path)) == ["k2", "k2.pub", "keys", "tiny.safetensors"]


def test_cli_sign_existing_file(tmp_path: Path, tiny_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    private, public = generate_keypair(tmp_path / "me")
    out = tmp_path / "signed.safetensors"
    assert run_cli(["sign", str(tiny_file), "--key", str(private), "--out", str(out)]) == 0
    assert run_cli(["verify", str(out), "--public-key", str(public)]) == 0
    assert "result: VERIFIED (signed)" in capsys.readouterr().out
    unsigned = verify_bytes(tiny_file.read_bytes()).certified
    signed_back = verify_bytes(out.read_bytes()).certified
    assert unsigned is not None and signed_back is not None and unsigned.digest == signed_back.digest
    _other, other_pub = generate_keypair(tmp_path / "other")
    assert run_cli(["verify", str(out), "--public-key", str(other_pub)]) == 1
    assert "not by the supplied public key" in capsys.readouterr().out
    assert sorted(leftovers(tmp_path)) == [
        "me",
        "me.pub",
        "other",
        "other.pub",
        "signed.safetensors",
        "tiny.safetensors",
    ]


def test_bad_key_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pub"
    bad.write_text("not hex")
    with pytest.raises(SignatureError, match="64 hexadecimal"):
        read_key(bad)
    with pytest.raises(SignatureError, match="cannot read"):
        read_key(tmp_path / "missing.pub")
