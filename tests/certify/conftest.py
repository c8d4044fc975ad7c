"""Fixtures for certified-vector tests: a tiny model, a certified file made on it, and helpers.

The tiny Qwen3 model (hidden 64, 4 layers) with the alpha grid (1e-4, 1, 100) measures one
dead, one effective and one collapsing cell, so the whole certify pipeline runs in well under a
second.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from steering_core.certify import CertifiedVector, Protocol, certify_vector, write_certified
from steering_core.certify.canonical import canonical_json
from steering_core.certify.certificate import seal
from steering_core.certify.fileformat import METADATA_KEY, encode
from steering_core.extract import extract
from steering_core.models import LoadedModel
from tests.conftest import make_tiny_model, make_tokenizer

TINY_PROTOCOL = Protocol(calibration_prompts=4, behaviour_prompts=4, max_new_tokens=20, alphas=(1e-4, 1.0, 100.0))
CREATED = "2025-01-01T00:00:00Z"


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    """Tiny models gain nothing from threads, and on a shared 2-core machine spinning threads make each
    tiny matmul ~100x slower; restore the previous setting afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_loaded(arch: str = "qwen3", seed: int = 0) -> LoadedModel:
    """A tiny random model wrapped as a LoadedModel."""
    return LoadedModel(
        model=make_tiny_model(arch, seed=seed), tokenizer=make_tokenizer(), name=f"tiny-{arch}", source="memory"
    )


@pytest.fixture(scope="module")
def tiny_lm() -> LoadedModel:
    return tiny_loaded()


@pytest.fixture(scope="module")
def tiny_certified(tiny_lm: LoadedModel) -> CertifiedVector:
    vector = extract(tiny_lm, style="terse", layers=[1, 2])
    return certify_vector(tiny_lm, vector, protocol=TINY_PROTOCOL, created=CREATED)


@pytest.fixture(scope="module")
def tiny_bytes(tiny_certified: CertifiedVector) -> bytes:
    return tiny_certified.to_bytes()


@pytest.fixture
def tiny_file(tmp_path: Path, tiny_certified: CertifiedVector) -> Path:
    return write_certified(tmp_path / "tiny.safetensors", tiny_certified)


def reencode(tensors: dict[int, torch.Tensor], certificate: Any) -> bytes:
    """Container bytes for arbitrary (possibly inconsistent) tensors and certificate, canonically encoded."""
    text = certificate if isinstance(certificate, str) else canonical_json(certificate).decode("utf-8")
    return encode(tensors, {METADATA_KEY: text})


def reseal(tensors: dict[int, torch.Tensor], body: dict[str, Any], seed: bytes | None = None) -> bytes:
    """A *validly sealed* file for the given tensors and body (what a careless or dishonest producer makes)."""
    return seal(tensors, body, seed).to_bytes()


def leftovers(folder: Path) -> list[str]:
    """Every file in ``folder`` (to assert that a failed write left nothing behind)."""
    return sorted(os.listdir(folder))


def flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    """``data`` with byte ``index`` XOR ``mask``."""
    out = bytearray(data)
    out[index] ^= mask
    return bytes(out)


Factory = Callable[..., Any]
