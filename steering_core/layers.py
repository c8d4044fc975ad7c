"""Where the decoder layers of a Hugging Face causal LM live, and what their outputs look like.

Supported layouts (the base model owns a ``ModuleList`` of decoder layers):
``model.model.layers`` (Qwen2, Qwen3, Llama/SmolLM2, Gemma 3 text, Mistral, Phi-3),
``model.model.language_model.layers`` (multimodal wrappers such as Gemma 3),
``model.transformer.h`` (GPT-2 style) and ``model.gpt_neox.layers``.

A decoder layer returns a Tensor ``(batch, seq, hidden)`` in transformers 5.x and a tuple whose
first item is that Tensor in 4.x; :func:`split_output` and :func:`join_output` handle both.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from steering_core.errors import LayerOutOfRangeError, UnsupportedModelError

_PATHS: tuple[tuple[str, str], ...] = (
    ("model", "layers"),
    ("model.language_model", "layers"),
    ("language_model.model", "layers"),
    ("transformer", "h"),
    ("gpt_neox", "layers"),
)


def _get(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def locate(model: nn.Module) -> tuple[nn.Module, nn.ModuleList]:
    """Return ``(base_model, decoder_layers)`` for a supported causal LM.

    Raises:
        UnsupportedModelError: no known layout matches.
    """
    for base_path, attr in _PATHS:
        base = _get(model, base_path)
        layers = getattr(base, attr, None) if base is not None else None
        if isinstance(base, nn.Module) and isinstance(layers, nn.ModuleList) and len(layers) > 0:
            return base, layers
    raise UnsupportedModelError(
        f"model: cannot find the decoder layers of {type(model).__name__}; supported layouts: "
        + ", ".join(f"{b}.{a}" for b, a in _PATHS)
    )


def decoder_layers(model: nn.Module) -> nn.ModuleList:
    """The model's decoder layers, in order (index 0 is the first layer)."""
    return locate(model)[1]


def base_model(model: nn.Module) -> nn.Module:
    """The module that owns the decoder layers (it receives ``attention_mask``)."""
    return locate(model)[0]


def num_layers(model: nn.Module) -> int:
    """Number of decoder layers."""
    return len(decoder_layers(model))


def hidden_size(model: nn.Module) -> int:
    """Width of the residual stream (``config.hidden_size`` of the text model)."""
    config = getattr(model, "config", None)
    if config is not None and hasattr(config, "get_text_config"):
        config = config.get_text_config()
    size = getattr(config, "hidden_size", None) or getattr(config, "n_embd", None)
    if not isinstance(size, int):
        raise UnsupportedModelError(f"model: cannot read the hidden size of {type(model).__name__}")
    return size


def check_layer(layer: int, n_layers: int, name: str = "layer") -> int:
    """Return ``layer`` if it is an int in ``[0, n_layers)``; negative indices are refused.

    Raises:
        LayerOutOfRangeError: not an int, or out of range.
    """
    if isinstance(layer, bool) or not isinstance(layer, int):
        raise LayerOutOfRangeError(name, f"an integer in [0, {n_layers - 1}]", f"{type(layer).__name__} {layer!r}")
    if not 0 <= layer < n_layers:
        raise LayerOutOfRangeError(name, f"an integer in [0, {n_layers - 1}]", layer)
    return layer


def split_output(output: Any) -> tuple[torch.Tensor, tuple[Any, ...] | None]:
    """Split a decoder layer's output into the hidden state and the rest (None for 5.x)."""
    if isinstance(output, torch.Tensor):
        return output, None
    if isinstance(output, tuple) and output and isinstance(output[0], torch.Tensor):
        return output[0], tuple(output[1:])
    raise UnsupportedModelError(f"decoder layer output of type {type(output).__name__} is not supported")


def join_output(hidden: torch.Tensor, rest: tuple[Any, ...] | None) -> Any:
    """Inverse of :func:`split_output`."""
    return hidden if rest is None else (hidden, *rest)


def model_dtype(model: nn.Module) -> torch.dtype:
    """The floating dtype of the model's first floating parameter."""
    for param in model.parameters():
        if param.is_floating_point():
            return param.dtype
    return torch.float32


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter."""
    for param in model.parameters():
        return param.device
    return torch.device("cpu")
