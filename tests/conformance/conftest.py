"""Fixtures of the conformance tests: a tiny Qwen2 (exportable as Llama), its fixture and oracle."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch

from steering_core.conformance.checks import Fixture
from steering_core.conformance.fixture import build_fixture
from steering_core.conformance.oracle import Oracle
from steering_core.models import LoadedModel
from steering_core.tiny import make_tiny_model, make_tokenizer
from steering_core.vector import SteeringVector


@pytest.fixture(autouse=True, scope="package")
def _one_thread() -> Iterator[None]:
    """Tiny matmuls only lose time to thread start-up on a shared 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_lm(arch: str = "qwen2") -> LoadedModel:
    return LoadedModel(model=make_tiny_model(arch), tokenizer=make_tokenizer(), name=f"tiny-{arch}", source="tiny")


Kit = tuple[LoadedModel, Fixture, dict[str, SteeringVector], Oracle]


def make_kit(arch: str = "qwen2") -> Kit:
    """A fresh tiny model, its fixture and vectors, and an oracle copied before any backend ran."""
    lm = tiny_lm(arch)
    fixture, vectors = build_fixture(lm, max_new_tokens=16)
    return lm, fixture, vectors, Oracle(lm.model, lm.tokenizer, vectors)


@pytest.fixture
def kit() -> Kit:
    """Tiny Qwen2 (exportable as Llama by ``steer fold``)."""
    return make_kit("qwen2")


def run(
    backend: Any, kit: tuple[LoadedModel, Fixture, dict[str, SteeringVector], Oracle], only: list[str] | None = None
) -> Any:
    from steering_core.conformance.run import run_conformance

    lm, fixture, vectors, oracle = kit
    try:
        return run_conformance(backend, lm.model, lm.tokenizer, vectors, fixture, lm.name, only=only, oracle=oracle)
    finally:
        backend.close()
