"""Shared fixtures: tiny random decoder-only models (no download) and a tiny chat tokenizer.

Every tiny model is built from a config with a fixed seed, in float32, in eval mode. The
``pristine`` twin of a model is a deep copy that never has a hook installed: property tests
compare against it, never against the same hooked model run twice.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from steering_core.tiny import HIDDEN, LAYERS, VOCAB, make_tiny_model, make_tokenizer

__all__ = ["HIDDEN", "LAYERS", "VOCAB", "make_tiny_model", "make_tokenizer"]


ARCHS = ["qwen3", "qwen2", "llama"]


@pytest.fixture(scope="session")
def tokenizer() -> Any:
    return make_tokenizer()


@pytest.fixture(params=ARCHS)
def arch(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def tiny(arch: str) -> Any:
    return make_tiny_model(arch)


@pytest.fixture
def pristine_of() -> Callable[[Any], Any]:
    """Deep-copy a model before any hook touches it: the truly unhooked reference."""

    def copy_model(model: Any) -> Any:
        twin = copy.deepcopy(model)
        assert not any(m._forward_hooks or m._forward_pre_hooks for m in twin.modules())
        return twin

    return copy_model


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Slow (real-model) tests run only when selected with ``-m``; see the README."""
    selection = config.getoption("-m") or ""
    if selection:
        return
    skip = pytest.mark.skip(reason="slow real-model test: run with `make test-all` or -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
