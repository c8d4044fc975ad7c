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
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

HIDDEN = 64
LAYERS = 4
VOCAB = 1000
CHARS = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?'\"-()\n")
SPECIALS = ["<pad>", "<unk>", "<eos>", "<|user|>", "<|assistant|>", "<|end|>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|user|>\n{{ m['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def make_tokenizer() -> Any:
    """A character-level fast tokenizer with a chat template (vocabulary < 100 tokens)."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(SPECIALS + CHARS)}
    core = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    tok = PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", unk_token="<unk>", eos_token="<eos>")
    tok.add_special_tokens({"additional_special_tokens": ["<|user|>", "<|assistant|>", "<|end|>"]})
    tok.chat_template = CHAT_TEMPLATE
    return tok


def _config(arch: str) -> Any:
    from transformers import Gemma3TextConfig, LlamaConfig, Qwen2Config, Qwen3Config

    common: dict[str, Any] = dict(
        vocab_size=VOCAB,
        hidden_size=HIDDEN,
        intermediate_size=128,
        num_hidden_layers=LAYERS,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        pad_token_id=0,
        eos_token_id=2,
        bos_token_id=None,
    )
    if arch == "qwen3":
        return Qwen3Config(head_dim=16, **common)
    if arch == "qwen2":
        return Qwen2Config(**common)
    if arch == "llama":
        return LlamaConfig(**common)
    if arch == "gemma3":
        return Gemma3TextConfig(head_dim=16, sliding_window=16, **common)
    raise ValueError(arch)


def make_tiny_model(arch: str = "qwen3", seed: int = 0, dtype: torch.dtype = torch.float32) -> Any:
    """A tiny random causal LM of architecture ``arch`` (qwen3, qwen2, llama, gemma3)."""
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(_config(arch))
    # Random init leaves the residual tiny relative to the embeddings; scale the embeddings up so
    # steering at realistic ratios changes greedy tokens without collapsing them.
    with torch.no_grad():
        model.get_input_embeddings().weight.mul_(8.0)
    model.generation_config.pad_token_id = 0
    model.generation_config.eos_token_id = None  # never stop early: fixed-length outputs
    return model.to(dtype).eval()


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
