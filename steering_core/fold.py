"""Folded steering: put ``alpha * v`` into a bias instead of a hook (zero per-token cost).

In the supported decoder layers the output is ``out = h1 + mlp(norm(h1))`` with
``mlp(x) = down_proj(act(gate_proj(x)) * up_proj(x))``: the last linear map of the residual
branch is ``mlp.down_proj`` and nothing follows it but the residual addition. Adding a constant
``delta`` to every position of the layer's output therefore equals adding ``delta`` to
``down_proj``'s bias (creating a zero bias where the model has none). Over the reals the two are
identical; in floats they differ by the order of two additions (``h1 + (Wx + (b + delta))``
versus ``(h1 + (Wx + b)) + delta``), i.e. logits agree within a tolerance per dtype
(:data:`FOLDED_LOGIT_RTOL`), and greedy tokens agree except at near ties.

Differences from the hook, by construction:

* only ``positions="all"``: a bias cannot tell prompt from generated tokens;
* padding positions are shifted too -- harmless, because padded keys are masked out of every
  real token's attention, so real positions' logits are unaffected;
* refused (``UnsupportedModelError``) for layers where something follows ``down_proj`` inside
  the residual branch (Gemma 3's ``post_feedforward_layernorm``) or where ``down_proj`` is not a
  plain ``nn.Linear``.

Reversibility: a created bias is removed on exit (``down_proj.bias = None``: state_dict keys as
before); an existing bias gets its exact original bits copied back.

:func:`export_folded` writes the steered weights as a normal model folder that reloads with
``AutoModelForCausalLM.from_pretrained``: Llama-family models with ``mlp_bias=True``; Qwen2
models as the equivalent ``LlamaForCausalLM`` (``attention_bias=True`` gives q/k/v their Qwen2
biases and o_proj a zero bias; ``mlp_bias=True`` gives gate/up zero biases and down the folded
one). Other architectures are refused.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from steering_core.atomic import atomic_dir
from steering_core.deprecation import model_first
from steering_core.errors import UnsupportedModelError
from steering_core.layers import locate
from steering_core.models import LoadedModel

FOLDED_LOGIT_RTOL: dict[torch.dtype, float] = {
    torch.float32: 1e-5,
    torch.float16: 8e-3,
    torch.bfloat16: 4e-2,
}
"""The stated parity of folded mode with the hook, per residual dtype (a measured bound, tested).

In one forward pass, ``max |logits_folded - logits_hook| <= FOLDED_LOGIT_RTOL[dtype] *
max |logits_hook|`` over the real (non-padding) positions. Consequently the greedy token is the
same at every position whose top-2 logit margin exceeds twice that bound; at a closer tie it may
differ (and a greedy continuation diverges from there). Measured maxima of the relative
difference: embedded Qwen2.5-Coder-0.5B (4 questions, layer 12, alpha 0.5) fp32 7.9e-7, fp16
1.2e-3, bf16 1.0e-2 (7 of 150 prompt positions flipped in bf16, all at margins <= 0.125 = one
bf16 step at that logit scale; 1 of 150 in fp16); tiny models fp32 3.8e-7, fp16 9.7e-4, bf16
7.8e-3. ``tests/hardening/test_folded_parity.py`` checks the bound and the token rule.
"""

FOLDABLE_LAYERS: tuple[str, ...] = (
    "Qwen2DecoderLayer",
    "Qwen3DecoderLayer",
    "LlamaDecoderLayer",
    "MistralDecoderLayer",
)
_AFTER_DOWN_PROJ: tuple[str, ...] = ("post_feedforward_layernorm", "post_mlp_layernorm", "ffn_post_norm")


def foldable_linear(layer: nn.Module, index: int) -> nn.Linear:
    """The ``mlp.down_proj`` of a decoder layer whose output folding can express exactly.

    Raises:
        UnsupportedModelError: the layer type is not known to end in ``residual + down_proj(...)``.
    """
    name = type(layer).__name__
    if name not in FOLDABLE_LAYERS or any(hasattr(layer, attr) for attr in _AFTER_DOWN_PROJ):
        raise UnsupportedModelError(
            f"mode='folded': layer {index} ({name}) is not one whose output ends in residual + mlp.down_proj; "
            f"supported: {', '.join(FOLDABLE_LAYERS)}; use mode='hook'"
        )
    down = getattr(getattr(layer, "mlp", None), "down_proj", None)
    if not isinstance(down, nn.Linear):
        raise UnsupportedModelError(f"mode='folded': layer {index} has no nn.Linear mlp.down_proj; use mode='hook'")
    return down


@dataclass
class _FoldState:
    """What is folded into one ``down_proj`` now: its bias before the first fold (None: it had
    none) and the active deltas in entry order, each under the token of the context that added it."""

    original: torch.Tensor | None
    active: list[tuple[object, torch.Tensor]] = field(default_factory=list)


_STATES: weakref.WeakKeyDictionary[nn.Linear, _FoldState] = weakref.WeakKeyDictionary()
_LOCK = threading.RLock()


def _enter_fold(linear: nn.Linear, delta: torch.Tensor, token: object) -> None:
    state = _STATES.get(linear)
    if state is None:
        original = None if linear.bias is None else linear.bias.detach().clone()
        state = _STATES[linear] = _FoldState(original)
    state.active.append((token, delta))
    if linear.bias is None:
        linear.bias = nn.Parameter(delta.clone(), requires_grad=False)
    else:
        linear.bias.add_(delta)  # same arithmetic as recomputing from the original in entry order


def _exit_fold(linear: nn.Linear, token: object) -> None:
    state = _STATES.get(linear)
    if state is None:  # pragma: no cover - only if the registry was bypassed
        return
    state.active = [(t, d) for t, d in state.active if t is not token]
    if not state.active:
        del _STATES[linear]
        if state.original is None:
            linear.bias = None  # type: ignore[assignment]
        else:
            assert linear.bias is not None
            linear.bias.copy_(state.original)
        return
    # Another context is still folded here: recompute the bias from the original, adding the
    # remaining deltas in entry order (bit for bit what those contexts alone would have made).
    deltas = [d for _, d in state.active]
    if state.original is None:
        bias, rest = deltas[0].clone(), deltas[1:]
    else:
        bias, rest = state.original.clone(), deltas
    for delta in rest:
        bias.add_(delta)
    if linear.bias is None:  # pragma: no cover - the bias is only removed when nothing is folded
        linear.bias = nn.Parameter(bias, requires_grad=False)
    else:
        linear.bias.copy_(bias)


@contextmanager
def folded(model: nn.Module, deltas: Mapping[int, torch.Tensor]) -> Iterator[None]:
    """Add ``deltas[layer]`` to the bias of each layer's ``mlp.down_proj`` inside the block.

    Pre: each delta is 1-D with the layer's output width, in the weight's dtype and device.
    Post (normal exit or exception): every touched bias is restored bit for bit; biases
    created here are removed again.

    Nesting: folded blocks on the same layer may be entered and exited in *any* order (e.g. A
    entered, B entered, A exited, B exited). Each ``down_proj`` keeps its original bias and the
    list of active deltas; on every exit the bias is recomputed from the original plus the
    remaining deltas in entry order, so after A exits the bias is exactly what B alone would
    have made, and after the last exit it is the original, bit for bit (or None again).
    """
    _, blocks = locate(model)
    targets = {layer: foldable_linear(blocks[layer], layer) for layer in deltas}  # validate all first
    token = object()
    entered: list[nn.Linear] = []
    try:
        with _LOCK, torch.no_grad():
            for layer, linear in targets.items():
                delta = deltas[layer].to(dtype=linear.weight.dtype, device=linear.weight.device)
                _enter_fold(linear, delta, token)
                entered.append(linear)
        yield
    finally:
        with _LOCK, torch.no_grad():
            for linear in reversed(entered):
                _exit_fold(linear, token)


def _llama_config_for(config: Any) -> Any:
    """The LlamaConfig that computes what ``config`` (Llama or Qwen2) computes, with MLP biases."""
    from transformers import LlamaConfig

    model_type = getattr(config, "model_type", None)
    if model_type == "llama":
        data = config.to_dict()
        data["mlp_bias"] = True
        return LlamaConfig(**{k: v for k, v in data.items() if k not in ("architectures", "model_type")})
    if model_type != "qwen2":
        raise UnsupportedModelError(
            f"export: cannot write a folded {model_type!r} model as a normal model folder "
            "(supported: llama, qwen2); steer it with mode='hook' instead"
        )
    if getattr(config, "use_sliding_window", False):
        raise UnsupportedModelError("export: Qwen2 with use_sliding_window=True has no Llama equivalent")
    keys = (
        "vocab_size",
        "hidden_size",
        "intermediate_size",
        "num_hidden_layers",
        "num_attention_heads",
        "num_key_value_heads",
        "hidden_act",
        "max_position_embeddings",
        "rms_norm_eps",
        "tie_word_embeddings",
        "bos_token_id",
        "eos_token_id",
        "pad_token_id",
        "rope_theta",
        "rope_scaling",
        "rope_parameters",
    )
    fields = {k: getattr(config, k) for k in keys if hasattr(config, k)}
    fields["head_dim"] = config.hidden_size // config.num_attention_heads
    return LlamaConfig(attention_bias=True, mlp_bias=True, **fields)


@model_first
def export_folded(
    lm: LoadedModel,
    deltas: Mapping[int, torch.Tensor],
    out_dir: str | os.PathLike[str],
) -> Path:
    """Write ``lm``'s model with ``deltas`` folded in as a normal model folder (atomically).

    The tokenizer (if any) is saved with it. The folder reloads with
    ``AutoModelForCausalLM.from_pretrained`` and computes what the steered model computes (every
    position; see the module docstring). ``lm.model`` itself is left exactly as it was.
    Deprecated: ``export_folded(model, tokenizer, deltas, out_dir)``.

    Raises:
        UnsupportedModelError: the architecture cannot be expressed (see the module docstring).
    """
    from transformers import LlamaForCausalLM

    model, tokenizer = lm.model, lm.tokenizer
    config = _llama_config_for(model.config)
    target = Path(out_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    with folded(model, deltas):
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    with torch.device("meta"):
        exported = LlamaForCausalLM(config)
    exported = exported.to_empty(device="cpu").to(next(iter(state.values())).dtype)
    with torch.no_grad():
        for name, param in exported.state_dict().items():
            if name in state:
                param.copy_(state[name])
            elif name.endswith(".bias"):
                param.zero_()  # biases Llama has and the source model does not (gate/up, o_proj)
            elif name == "lm_head.weight" and config.tie_word_embeddings:
                param.copy_(state["model.embed_tokens.weight"])
            else:
                raise UnsupportedModelError(f"export: no source for parameter {name!r}")
    exported.tie_weights()
    exported.eval()
    with atomic_dir(target) as tmp:
        exported.save_pretrained(str(tmp))
        if tokenizer is not None:
            tokenizer.save_pretrained(str(tmp))
    return target
