"""Steer a model: add ``alpha * v`` to decoder-layer outputs inside a context manager.

Contract of :func:`steer`:

* Pre: ``alpha`` finite; every vector finite with the model's hidden width; every layer in
  ``[0, num_layers)``; ``positions`` one of ``all``, ``prompt``, ``generated``; the delta
  ``alpha * v`` representable in the model's dtype.
* During: each forward pass adds ``alpha * v[layer]`` to the output of each steered layer at
  exactly the positions named by ``positions`` and never at padding. Positions that are not
  steered keep their bits (``torch.where``, not ``h + 0``).
* ``alpha == 0`` installs nothing at all: the model is the unhooked model, bit for bit.
* Post (normal exit or exception): every hook this context installed is removed, in
  ``finally``; the model's hook dictionaries equal their state on entry.

Position bookkeeping. A forward pre-hook on the base model (the module that owns the decoder
layers) reads the current call's token count ``S``, the cache length and the 2-D attention
mask. It computes, for each position of the current chunk, its absolute index in the padded
sequence and whether it is padding. The *prompt* of a generation is the input of its first
forward call (cache empty); later calls are continuations when they reuse the cache, or (no
cache) when their input extends the previous call's input by new tokens. Positions with an
absolute index ``>= prompt length`` are *generated*, so with the KV cache the first generated
token is steered the moment it is fed back in, exactly as without the cache.

The per-token path (the layer hook) calls no contract and allocates only the steered output.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from steering_core.errors import HookLeakError, InvalidParameterError, SteeringError, UnsupportedModelError
from steering_core.layers import check_layer, join_output, locate, model_device, model_dtype, split_output
from steering_core.ops import check_finite_scalar, check_vector, steering_delta
from steering_core.vector import SteeringVector

Positions = Literal["all", "prompt", "generated"]
POSITIONS: tuple[str, ...] = ("all", "prompt", "generated")
Mode = Literal["hook", "folded"]
MODES: tuple[str, ...] = ("hook", "folded")


@dataclass
class _StepState:
    """What the base-model pre-hook learnt about the current forward call."""

    positions: str
    valid: bool = False
    prompt_len: int | None = None
    last_ids: torch.Tensor | None = None
    # (batch, seq) bool mask of positions to steer; None means "every position".
    mask: torch.Tensor | None = None
    calls: int = 0


def _chunk_tensor(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[torch.Tensor | None, torch.Tensor]:
    ids = kwargs.get("input_ids")
    if ids is None and args and isinstance(args[0], torch.Tensor):
        ids = args[0]
    embeds = kwargs.get("inputs_embeds")
    if ids is not None:
        return ids, ids
    if isinstance(embeds, torch.Tensor):
        return None, embeds
    raise UnsupportedModelError("steer: the base model was called without input_ids or inputs_embeds")


def _past_length(kwargs: dict[str, Any]) -> int:
    cache_position = kwargs.get("cache_position")
    if isinstance(cache_position, torch.Tensor) and cache_position.numel() > 0:
        return int(cache_position.reshape(-1)[0])
    for key in ("cache", "past_key_values"):
        cache = kwargs.get(key)
        if cache is None:
            continue
        getter = getattr(cache, "get_seq_length", None)
        if callable(getter):
            return int(getter())
        if isinstance(cache, (tuple, list)) and cache and isinstance(cache[0], (tuple, list)) and cache[0]:
            return int(cache[0][0].shape[-2])  # legacy tuple cache: (batch, heads, seq, dim)
    return 0


def _padding(kwargs: dict[str, Any], batch: int, seq: int, past: int) -> torch.Tensor | None:
    """(batch, seq) bool mask of padding in the current chunk, or None when there is none."""
    mask = kwargs.get("attention_mask")
    if isinstance(mask, dict):
        mask = mask.get("full_attention", next(iter(mask.values()), None))
    if mask is None:
        return None
    if not isinstance(mask, torch.Tensor):
        raise UnsupportedModelError(f"steer: unsupported attention_mask of type {type(mask).__name__}")
    if mask.dim() == 2:
        if mask.shape[1] < seq:
            raise UnsupportedModelError(f"steer: attention_mask of shape {tuple(mask.shape)} for {seq} tokens")
        pad = mask[:, -seq:] == 0
    elif mask.dim() == 4:
        # (batch, 1, query, key): a query is padding when it may not attend to itself.
        rows = torch.arange(seq, device=mask.device)
        diag = mask[:, 0, rows, past + rows] if mask.shape[-1] >= past + seq else mask[:, 0, rows, rows]
        pad = ~diag if diag.dtype == torch.bool else diag < -1.0
    else:
        raise UnsupportedModelError(f"steer: attention_mask with {mask.dim()} dims is not supported")
    if pad.shape[0] != batch:
        pad = pad.expand(batch, -1)
    return pad if bool(pad.any()) else None


def _make_pre_hook(state: _StepState) -> Any:
    def pre_hook(_module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        ids, chunk = _chunk_tensor(args, kwargs)
        batch, seq = int(chunk.shape[0]), int(chunk.shape[1])
        past = _past_length(kwargs)
        continuation = past > 0 and state.prompt_len is not None
        if past == 0 and ids is not None and state.last_ids is not None:
            prev = state.last_ids
            # No cache: generate() re-feeds the whole sequence with new tokens appended.
            continuation = (
                prev.shape[0] == batch
                and prev.shape[1] < seq
                and prev.device == ids.device
                and bool(torch.equal(ids[:, : prev.shape[1]], prev))
            )
        if past > 0 and state.prompt_len is None:
            # Entered mid-generation: what is already cached counts as the prompt.
            state.prompt_len = past
            continuation = True
        if not continuation:
            state.prompt_len = past + seq
        state.last_ids = ids.detach() if (ids is not None and past == 0) else None
        pad = _padding(kwargs, batch, seq, past)
        if state.positions == "all":
            steer_mask = None if pad is None else ~pad
        else:
            assert state.prompt_len is not None
            absolute = past + torch.arange(seq, device=chunk.device)
            in_prompt = (absolute < state.prompt_len).unsqueeze(0).expand(batch, seq)
            steer_mask = in_prompt if state.positions == "prompt" else ~in_prompt
            if pad is not None:
                steer_mask = steer_mask & ~pad
        state.mask = steer_mask
        state.valid = True
        state.calls += 1

    return pre_hook


def _make_post_hook(state: _StepState) -> Any:
    def post_hook(_module: nn.Module, _args: tuple[Any, ...], _kwargs: dict[str, Any], _output: Any) -> None:
        state.valid = False
        state.mask = None

    return post_hook


def _make_layer_hook(state: _StepState, vector: torch.Tensor, alpha: float, delta: torch.Tensor) -> Any:
    cache: dict[tuple[torch.dtype, torch.device], torch.Tensor] = {(delta.dtype, delta.device): delta}

    def layer_hook(_module: nn.Module, _args: tuple[Any, ...], output: Any) -> Any:
        hidden, rest = split_output(output)
        key = (hidden.dtype, hidden.device)
        step = cache.get(key)
        if step is None:
            # A residual in another dtype/device than the parameters (autocast, sharding):
            # round alpha * v once, straight into that dtype.
            step = steering_delta(vector, alpha, hidden.dtype, hidden.device)
            cache[key] = step
        if not state.valid:
            if state.positions != "all":
                raise SteeringError(
                    f"steer: positions={state.positions!r} needs the model's own forward; "
                    "a decoder layer was called directly"
                )
            return join_output(hidden + step, rest)
        mask = state.mask
        if mask is None:
            return join_output(hidden + step, rest)
        if mask.shape != hidden.shape[:2]:
            raise UnsupportedModelError(
                f"steer: position mask {tuple(mask.shape)} does not match hidden state {tuple(hidden.shape)}"
            )
        if not bool(mask.any()):
            return None  # keep the layer's own output object untouched
        return join_output(torch.where(mask.unsqueeze(-1), hidden + step, hidden), rest)

    return layer_hook


@dataclass
class SteeringHandle:
    """What :func:`steer` yields: the installed configuration and its live state."""

    layers: list[int]
    alpha: float
    positions: str
    installed: bool
    deltas: dict[int, torch.Tensor] = field(default_factory=dict)
    _state: _StepState | None = None

    @property
    def forward_calls(self) -> int:
        """How many forward passes of the base model ran while steering (0 when α = 0)."""
        return self._state.calls if self._state is not None else 0


def _resolve(
    model: nn.Module,
    vector: SteeringVector | torch.Tensor,
    layers: int | Iterable[int] | None,
) -> dict[int, torch.Tensor]:
    _, blocks = locate(model)
    n_layers = len(blocks)
    from steering_core.layers import hidden_size

    width = hidden_size(model)
    if isinstance(vector, SteeringVector):
        if vector.hidden_size != width:
            from steering_core.errors import WidthMismatchError

            raise WidthMismatchError(
                "vector", f"width {width} (the model's hidden size)", f"width {vector.hidden_size}"
            )
        if layers is None:
            if len(vector) != 1:
                raise InvalidParameterError(
                    "layers", f"the layer(s) to steer (this vector holds layers {vector.layer_indices})", None
                )
            chosen = vector.layer_indices
        else:
            chosen = [layers] if isinstance(layers, int) else list(layers)
        out = {}
        for layer in chosen:
            check_layer(layer, n_layers, "layers")
            out[layer] = check_vector(vector[layer], f"vector[{layer}]", width)
        return out
    if isinstance(vector, torch.Tensor):
        if layers is None:
            raise InvalidParameterError("layers", "the layer(s) to steer with a raw tensor", None)
        chosen = [layers] if isinstance(layers, int) else list(layers)
        check_vector(vector, "vector", width)
        return {check_layer(layer, n_layers, "layers"): vector for layer in chosen}
    raise InvalidParameterError("vector", "a SteeringVector or a 1-D torch.Tensor", type(vector).__name__)


def hook_snapshot(model: nn.Module) -> dict[str, tuple[int, ...]]:
    """Ids of every forward hook and pre-hook on every submodule (to compare before/after)."""
    snap: dict[str, tuple[int, ...]] = {}
    for name, module in model.named_modules():
        keys: list[int] = []
        for attr in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks"):
            keys.extend(getattr(module, attr, {}).keys())
        if keys:
            snap[name] = tuple(keys)
    return snap


@contextmanager
def steer(
    model: nn.Module,
    vector: SteeringVector | torch.Tensor,
    alpha: float,
    layers: int | Iterable[int] | None = None,
    positions: Positions = "all",
    mode: Mode = "hook",
) -> Iterator[SteeringHandle]:
    """Steer ``model`` inside a ``with`` block (see the module docstring for the contract).

    Args:
        model: a Hugging Face causal LM (or its base model) with a supported layout.
        vector: a :class:`SteeringVector` (``layers`` picks which of its layers to use; needed
            when it holds more than one) or a raw 1-D tensor (``layers`` required).
        alpha: the finite scale of the step; the delta is ``alpha * v`` in the model's dtype.
        layers: decoder-layer index or indices (0-based).
        positions: ``all`` (every non-padding position), ``prompt`` or ``generated``.
        mode: ``hook`` (forward hooks, every position mode) or ``folded`` (``alpha * v`` added to
            the bias of each steered layer's ``mlp.down_proj``: no per-token cost, exact within
            float rounding, ``positions="all"`` only; see :mod:`steering_core.fold`).

    Yields:
        A :class:`SteeringHandle`.

    Raises:
        NonFiniteError, WidthMismatchError, LayerOutOfRangeError, InvalidParameterError,
        DtypeMismatchError: bad input, before anything is installed.
    """
    alpha = check_finite_scalar(alpha, "alpha")
    if positions not in POSITIONS:
        raise InvalidParameterError("positions", f"one of {POSITIONS}", repr(positions))
    if mode not in MODES:
        raise InvalidParameterError("mode", f"one of {MODES}", repr(mode))
    if mode == "folded" and positions != "all":
        raise InvalidParameterError(
            "mode", "'hook' for positions='prompt' or 'generated' (a folded bias acts on every position)", "'folded'"
        )
    resolved = _resolve(model, vector, layers)
    dtype, device = model_dtype(model), model_device(model)
    deltas = {layer: steering_delta(v, alpha, dtype, device) for layer, v in resolved.items()}
    if mode == "folded":
        from steering_core.fold import foldable_linear

        _, blocks = locate(model)
        for layer in deltas:
            foldable_linear(blocks[layer], layer)  # refuse before anything changes, even for alpha = 0
    if alpha == 0.0:
        yield SteeringHandle(sorted(resolved), alpha, positions, installed=False)
        return
    if mode == "folded":
        from steering_core.fold import folded

        with folded(model, deltas):
            yield SteeringHandle(sorted(deltas), alpha, positions, installed=True, deltas=deltas)
        return
    base, blocks = locate(model)
    state = _StepState(positions=positions)
    installed: list[tuple[nn.Module, RemovableHandle]] = []
    try:
        installed.append((base, base.register_forward_pre_hook(_make_pre_hook(state), with_kwargs=True)))
        post = base.register_forward_hook(_make_post_hook(state), with_kwargs=True, always_call=True)
        installed.append((base, post))
        for layer, delta in deltas.items():
            hook = _make_layer_hook(state, resolved[layer], alpha, delta)
            installed.append((blocks[layer], blocks[layer].register_forward_hook(hook)))
        yield SteeringHandle(sorted(deltas), alpha, positions, installed=True, deltas=deltas, _state=state)
    finally:
        for _, handle in installed:
            handle.remove()
        state.last_ids = None
        state.mask = None
        _check_removed(installed)


def _check_removed(installed: Sequence[tuple[nn.Module, RemovableHandle]]) -> None:
    """Postcondition: none of the hooks a context installed is still registered.

    Hooks the caller added inside the block are theirs and are left alone.
    """
    for module, handle in installed:
        for attr in (
            "_forward_hooks",
            "_forward_pre_hooks",
            "_forward_hooks_with_kwargs",
            "_forward_hooks_always_called",
        ):
            if handle.id in getattr(module, attr, {}):
                raise HookLeakError(f"steer: hook {handle.id} is still on {type(module).__name__}.{attr} after exit")


def steered_layers(handle: SteeringHandle) -> Sequence[int]:
    """The layers a handle steers (empty when nothing was installed)."""
    return handle.layers if handle.installed else []
