"""Tiny random decoder-only models and a character-level chat tokenizer (no download).

For exact properties, fixtures and the conformance kit's quick runs: every tiny model is built
from a config with a fixed seed, in eval mode, with hidden width :data:`HIDDEN` and
:data:`LAYERS` decoder layers. The embeddings are scaled up so that steering at realistic
perturbation ratios changes greedy tokens without collapsing them, and generation never stops
early (no EOS), so outputs have a fixed length.
"""

from __future__ import annotations

from typing import Any

import torch

from steering_core.errors import InvalidParameterError

HIDDEN = 64
LAYERS = 4
VOCAB = 1000
ARCHITECTURES: tuple[str, ...] = ("qwen3", "qwen2", "llama", "gemma3")
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
    tok = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=core, pad_token="<pad>", unk_token="<unk>", eos_token="<eos>"
    )
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
    raise InvalidParameterError("arch", f"one of {ARCHITECTURES}", repr(arch))


def make_tiny_model(arch: str = "qwen3", seed: int = 0, dtype: torch.dtype = torch.float32) -> Any:
    """A tiny random causal LM of architecture ``arch`` (qwen3, qwen2, llama, gemma3)."""
    from transformers import AutoModelForCausalLM

    config = _config(arch)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)  # type: ignore[no-untyped-call]
    with torch.no_grad():
        model.get_input_embeddings().weight.mul_(8.0)
    model.generation_config.pad_token_id = 0
    model.generation_config.eos_token_id = None  # never stop early: fixed-length outputs
    return model.to(dtype).eval()
