"""Model identity and a cheap, reproducible fingerprint of a model's config and weights.

Config fingerprint (``config-fields-v1``): sha256 of the canonical JSON of a fixed set of
architecture fields read from the (text) config (:data:`CONFIG_FIELDS`; a field the config
lacks is ``null``; ``rope_theta`` is also looked up in ``rope_parameters``, where transformers 5
keeps it). Fields that name files or library versions are not included, so re-saving a model
does not change its fingerprint.

Weights fingerprint (``strided-sample-v1``): sha256 over every entry of ``state_dict()`` in
sorted name order, each contributing (length-prefixed, lengths as 8-byte big-endian) its name,
its shape (decimal, comma-separated) and the float32 little-endian bytes of
``min(numel, samples_per_tensor)`` elements taken at flat indices ``floor(i * numel / k)``.
Cost: a few thousand elements per tensor, well under a second for a 0.5B model. It is a
fingerprint, not a full hash: it identifies the weights a vector was made for and detects a
different model or dtype; it would not notice an edit confined to unsampled elements.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any

import torch
from torch import nn

from steering_core.certify.canonical import canonical_json
from steering_core.layers import hidden_size, num_layers

CONFIG_ALGORITHM = "config-fields-v1"
WEIGHTS_ALGORITHM = "strided-sample-v1"
SAMPLES_PER_TENSOR = 1024
CONFIG_FIELDS: tuple[str, ...] = (
    "model_type",
    "architectures",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "intermediate_size",
    "vocab_size",
    "max_position_embeddings",
    "rms_norm_eps",
    "rope_theta",
    "tie_word_embeddings",
    "hidden_act",
)


def _lp(data: bytes) -> bytes:
    return struct.pack(">Q", len(data)) + data


def _text_config(model: nn.Module) -> Any:
    config = getattr(model, "config", None)
    if config is not None and hasattr(config, "get_text_config"):
        return config.get_text_config()
    return config


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


def config_fields(model: nn.Module) -> dict[str, Any]:
    """The fingerprinted config fields of ``model`` (missing ones are None)."""
    config = _text_config(model)
    outer = getattr(model, "config", None)
    fields: dict[str, Any] = {}
    for name in CONFIG_FIELDS:
        value = getattr(config, name, None)
        if value is None and outer is not None:
            value = getattr(outer, name, None)
        if name == "rope_theta" and value is None:
            params = getattr(config, "rope_parameters", None)
            if isinstance(params, dict):
                value = params.get("rope_theta")
        fields[name] = _jsonable(value)
    return fields


def config_fingerprint(model: nn.Module) -> dict[str, Any]:
    """``{"algorithm", "fields", "sha256"}`` for the model's config."""
    fields = config_fields(model)
    return {
        "algorithm": CONFIG_ALGORITHM,
        "fields": fields,
        "sha256": hashlib.sha256(canonical_json(fields)).hexdigest(),
    }


@torch.no_grad()
def weights_fingerprint(model: nn.Module, samples_per_tensor: int = SAMPLES_PER_TENSOR) -> dict[str, Any]:
    """``{"algorithm", "samples_per_tensor", "n_tensors", "n_elements", "sha256"}`` of the weights."""
    digest = hashlib.sha256()
    digest.update(_lp(WEIGHTS_ALGORITHM.encode("ascii")))
    state = model.state_dict()
    n_elements = 0
    for name in sorted(state):
        tensor = state[name]
        flat = tensor.detach().reshape(-1)
        n = flat.numel()
        n_elements += n
        k = min(n, samples_per_tensor)
        index = (torch.arange(k, dtype=torch.int64, device=flat.device) * n) // max(k, 1)
        sample = flat[index].to(device="cpu", dtype=torch.float32).contiguous()
        digest.update(_lp(name.encode("utf-8")))
        digest.update(_lp(",".join(str(int(s)) for s in tensor.shape).encode("ascii")))
        digest.update(_lp(sample.view(torch.uint8).numpy().tobytes()))
    return {
        "algorithm": WEIGHTS_ALGORITHM,
        "samples_per_tensor": samples_per_tensor,
        "n_tensors": len(state),
        "n_elements": n_elements,
        "sha256": digest.hexdigest(),
    }


def model_dtype_name(model: nn.Module) -> str:
    """The dtype of the model's first parameter, spelled without ``torch.``."""
    return str(next(model.parameters()).dtype).removeprefix("torch.")


def model_identity(model: nn.Module, name: str | None, source: dict[str, Any] | None = None) -> dict[str, Any]:
    """The certificate's ``model`` block: name, architecture, sizes, dtype and fingerprints."""
    fields = config_fields(model)
    architectures = fields.get("architectures")
    architecture = architectures[0] if isinstance(architectures, list) and architectures else type(model).__name__
    return {
        "name": name or type(model).__name__,
        "architecture": str(architecture),
        "model_type": fields.get("model_type"),
        "hidden_size": hidden_size(model),
        "num_layers": num_layers(model),
        "dtype": model_dtype_name(model),
        "fingerprint": {"config": config_fingerprint(model), "weights": weights_fingerprint(model)},
        "source": source,
    }
