"""Model-level dispatch of steering: which additive steps apply to which rows of which forward call.

Every steering context (:func:`steering_core.steer.steer`, :func:`steering_core.steer.steer_rows`)
is a *frame*. A frame holds, per decoder layer, an ordered list of :class:`Op` (one additive
step: a delta for every row, or one per row, and the positions it acts on). Frames belong to
the **execution context that entered them** (a :class:`contextvars.ContextVar`: one per thread,
one per asyncio task):

* A forward pass is steered by exactly the frames active in the context that runs it. A thread
  that entered no steering context runs the model unsteered, bit for bit, even while other
  threads steer the same model object; two threads that steer the same model each get their
  own steering only. This is the threading rule documented in the README.
* A frame entered in one thread is not seen by threads started later (threads begin with an
  empty context). To use one frame in a worker, run the worker in a copy of the context
  (``contextvars.copy_context().run``); its per-call bookkeeping is kept per thread.
* ``mode="folded"`` rewrites weights, which no context variable can scope: a folded frame
  takes the model exclusively. Entering any steering on a model that another thread has folded,
  or folding a model that another thread steers, raises :class:`ConcurrentSteeringError`
  (folded mode installs no hook, so a *plain* forward from another thread during a folded block
  cannot be intercepted: do not share a model between threads while folding it).

Hooks: the first frame on a model installs one forward pre-hook and one always-called forward
hook on the base model, and one forward hook on each layer some active frame steers; they are
reference-counted and removed (and checked removed) when the last frame that needs them exits.
Installing and removing happens under one process-wide lock. Hooks tolerate being removed while
another thread is inside a forward call (they become no-ops).

Position bookkeeping (unchanged from the single-plan hook). The pre-hook reads the call's token
count ``S``, the cache length and the 2-D attention mask. The *prompt* of a generation is the
input of its first forward call (cache empty); later calls are continuations when they reuse
the cache, or (no cache) when their input extends the previous call's input. Positions with an
absolute index ``>= prompt length`` are *generated*. Padding is never steered.

Per-token path: the layer hook calls no contract; for each op it adds the delta (broadcast over
positions, per row when the op is per-row) and selects with ``torch.where`` so positions and
rows that are not steered keep their bits.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from steering_core.errors import (
    ConcurrentSteeringError,
    HookLeakError,
    InvalidParameterError,
    SteeringError,
    UnsupportedModelError,
)
from steering_core.hooks import hook_registered
from steering_core.layers import join_output, split_output
from steering_core.ops import steering_delta

ROW_MODES: tuple[str, ...] = ("all", "prompt", "generated")


# ----------------------------------------------------------------------------- call inputs
def chunk_tensor(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[torch.Tensor | None, torch.Tensor]:
    """``(input_ids or None, the tensor whose first two dims are (batch, seq))`` of a base-model call."""
    ids = kwargs.get("input_ids")
    if ids is None and args and isinstance(args[0], torch.Tensor):
        ids = args[0]
    embeds = kwargs.get("inputs_embeds")
    if ids is not None:
        return ids, ids
    if isinstance(embeds, torch.Tensor):
        return None, embeds
    raise UnsupportedModelError("steer: the base model was called without input_ids or inputs_embeds")


def past_length(kwargs: dict[str, Any]) -> int:
    """Number of positions already in the KV cache for this call (0 without a cache)."""
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


def padding_mask(kwargs: dict[str, Any], batch: int, seq: int, past: int) -> torch.Tensor | None:
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


# ----------------------------------------------------------------------------- ops and frames
@dataclass
class StepState:
    """What the base-model pre-hook learnt about the current forward call (one per frame and thread)."""

    valid: bool = False
    prompt_len: int | None = None
    last_ids: torch.Tensor | None = None
    batch: int = 0
    seq: int = 0
    pad: torch.Tensor | None = None
    in_prompt: torch.Tensor | None = None
    # per-call cache: op.mask_key -> (mask or None for "every position", any position steered)
    masks: dict[Any, tuple[torch.Tensor | None, bool]] = field(default_factory=dict)


@dataclass(eq=False)
class Op:
    """One additive step at one layer.

    ``rows is None``: a broadcast step; ``delta`` has shape ``(hidden,)`` and ``positions`` is one
    mode for every row. Otherwise ``delta`` has shape ``(rows, hidden)`` and ``positions[r]`` is
    row ``r``'s mode, or None when the step does not touch row ``r`` (its delta row is then zero
    and never added: the row keeps its bits).
    """

    delta: torch.Tensor
    vectors: tuple[torch.Tensor | None, ...]
    alphas: tuple[float, ...]
    positions: str | tuple[str | None, ...]
    rows: int | None = None
    _by_dtype: dict[tuple[torch.dtype, torch.device], torch.Tensor] = field(default_factory=dict)
    _row_sel: dict[str, torch.Tensor] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_dtype[(self.delta.dtype, self.delta.device)] = self._shaped(self.delta)
        if self.rows is not None:
            assert isinstance(self.positions, tuple) and len(self.positions) == self.rows
            for mode in ROW_MODES:
                sel = [p == mode for p in self.positions]
                if any(sel):
                    self._row_sel[mode] = torch.tensor(sel, dtype=torch.bool, device=self.delta.device)

    def _shaped(self, delta: torch.Tensor) -> torch.Tensor:
        return delta if self.rows is None else delta.unsqueeze(1)  # (rows, 1, hidden)

    @property
    def modes(self) -> set[str]:
        """The position modes this op uses."""
        if isinstance(self.positions, str):
            return {self.positions}
        return {p for p in self.positions if p is not None}

    @property
    def every_row_all(self) -> bool:
        """True when every row is steered at every (non-padding) position."""
        if isinstance(self.positions, str):
            return self.positions == "all"
        return all(p == "all" for p in self.positions)

    def step(self, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """The delta in the residual's dtype and device (rounded once from ``alpha * v``)."""
        cached = self._by_dtype.get((dtype, device))
        if cached is None:
            # A residual in another dtype/device than the parameters (autocast, sharding).
            if self.rows is None:
                assert self.vectors[0] is not None
                made = steering_delta(self.vectors[0], self.alphas[0], dtype, device)
            else:
                width = self.delta.shape[-1]
                made = torch.stack(
                    [
                        torch.zeros(width, dtype=dtype, device=device)
                        if v is None
                        else steering_delta(v, a, dtype, device)
                        for v, a in zip(self.vectors, self.alphas, strict=True)
                    ]
                )
            cached = self._shaped(made)
            self._by_dtype[(dtype, device)] = cached
        return cached

    def mask(self, state: StepState) -> tuple[torch.Tensor | None, bool]:
        """``(mask, any)`` for the current call: None means every position of every row."""
        key = self.positions
        hit = state.masks.get(key)
        if hit is not None:
            return hit
        notpad = None if state.pad is None else ~state.pad
        if isinstance(self.positions, str):
            mask = _mode_mask(self.positions, state, notpad)
        elif self.every_row_all:
            mask = notpad
        else:
            mask = torch.zeros((state.batch, state.seq), dtype=torch.bool, device=self.delta.device)
            for mode, sel in self._row_sel.items():
                part = _mode_mask(mode, state, notpad)
                mask |= sel.unsqueeze(1) if part is None else (sel.unsqueeze(1) & part)
        result = (mask, True if mask is None else bool(mask.any()))
        state.masks[key] = result
        return result


def _mode_mask(mode: str, state: StepState, notpad: torch.Tensor | None) -> torch.Tensor | None:
    if mode == "all":
        return notpad
    assert state.in_prompt is not None
    named = state.in_prompt if mode == "prompt" else ~state.in_prompt
    return named if notpad is None else named & notpad


@dataclass(eq=False)
class Frame:
    """One steering context: its ops per layer, who entered it, and its per-thread call state."""

    base: nn.Module
    blocks: nn.ModuleList
    ops: dict[int, list[Op]]
    rows: int | None = None
    folded: bool = False
    thread: int = field(default_factory=threading.get_ident)
    closed: bool = False
    states: dict[int, StepState] = field(default_factory=dict)

    @property
    def needs_prompt(self) -> bool:
        """True when some op distinguishes prompt from generated positions."""
        return any(mode != "all" for ops in self.ops.values() for op in ops for mode in op.modes)

    def state(self) -> StepState:
        """This thread's call state (created on first use)."""
        ident = threading.get_ident()
        st = self.states.get(ident)
        if st is None:
            st = StepState()
            self.states[ident] = st
        return st


_ACTIVE: ContextVar[tuple[Frame, ...]] = ContextVar("steering_core_active_frames", default=())
_LOCK = threading.RLock()


def active_frames() -> tuple[Frame, ...]:
    """The frames active in the calling context (outermost first)."""
    return _ACTIVE.get()


# ----------------------------------------------------------------------------- hooks
def _frames_for(base: nn.Module) -> list[Frame]:
    return [f for f in _ACTIVE.get() if f.base is base and not f.closed and not f.folded]


def _make_pre_hook(base: nn.Module) -> Any:
    def pre_hook(_module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any] | None = None) -> None:
        if kwargs is None:
            return None  # removed while this call was starting: no frame of ours is active
        frames = _frames_for(base)
        if not frames:
            return None
        ids, chunk = chunk_tensor(args, kwargs)
        batch, seq = int(chunk.shape[0]), int(chunk.shape[1])
        past = past_length(kwargs)
        pad = padding_mask(kwargs, batch, seq, past)
        for frame in frames:
            if frame.rows is not None and frame.rows != batch:
                raise InvalidParameterError(
                    "plans", f"one plan per batch row ({frame.rows} rows)", f"a forward pass with batch {batch}"
                )
            st = frame.state()
            continuation = past > 0 and st.prompt_len is not None
            if past == 0 and ids is not None and st.last_ids is not None:
                prev = st.last_ids
                # No cache: generate() re-feeds the whole sequence with new tokens appended.
                continuation = (
                    prev.shape[0] == batch
                    and prev.shape[1] < seq
                    and prev.device == ids.device
                    and bool(torch.equal(ids[:, : prev.shape[1]], prev))
                )
            if past > 0 and st.prompt_len is None:
                # Entered mid-generation: what is already cached counts as the prompt.
                st.prompt_len = past
                continuation = True
            if not continuation:
                st.prompt_len = past + seq
            st.last_ids = ids.detach() if (ids is not None and past == 0) else None
            st.batch, st.seq, st.pad = batch, seq, pad
            st.in_prompt = None
            if frame.needs_prompt:
                assert st.prompt_len is not None
                absolute = past + torch.arange(seq, device=chunk.device)
                st.in_prompt = (absolute < st.prompt_len).unsqueeze(0).expand(batch, seq)
            st.masks.clear()
            st.valid = True
        return None

    return pre_hook


def _make_post_hook(base: nn.Module) -> Any:
    def post_hook(_module: nn.Module, _args: tuple[Any, ...], *_rest: Any) -> None:
        for frame in _frames_for(base):
            st = frame.states.get(threading.get_ident())
            if st is not None:
                st.valid = False
                st.masks.clear()
                st.pad = st.in_prompt = None

    return post_hook


def _apply(op: Op, frame: Frame, hidden: torch.Tensor, state: StepState) -> torch.Tensor | None:
    step = op.step(hidden.dtype, hidden.device)
    if op.rows is not None and hidden.shape[0] != op.rows:
        raise InvalidParameterError(
            "plans", f"one plan per batch row ({op.rows} rows)", f"a batch of {hidden.shape[0]}"
        )
    if not state.valid:
        if not op.every_row_all:
            raise SteeringError(
                f"steer: positions={op.positions!r} needs the model's own forward; a decoder layer was called directly"
            )
        return hidden + step
    mask, anything = op.mask(state)
    if mask is None:
        return hidden + step
    if mask.shape != hidden.shape[:2]:
        raise UnsupportedModelError(
            f"steer: position mask {tuple(mask.shape)} does not match hidden state {tuple(hidden.shape)}"
        )
    if not anything:
        return None
    return torch.where(mask.unsqueeze(-1), hidden + step, hidden)


def _make_layer_hook(base: nn.Module, layer: int) -> Any:
    def layer_hook(_module: nn.Module, _args: tuple[Any, ...], output: Any) -> Any:
        frames = _ACTIVE.get()
        if not frames:
            return None
        hidden: torch.Tensor | None = None
        rest: tuple[Any, ...] | None = None
        current: torch.Tensor | None = None
        for frame in frames:
            if frame.base is not base or frame.closed or frame.folded:
                continue
            ops = frame.ops.get(layer)
            if not ops:
                continue
            if hidden is None:
                hidden, rest = split_output(output)
                current = hidden
            assert current is not None
            state = frame.state()
            for op in ops:
                out = _apply(op, frame, current, state)
                if out is not None:
                    current = out
        if hidden is None or current is hidden:
            return None  # keep the layer's own output object untouched
        assert current is not None
        return join_output(current, rest)

    return layer_hook


# ----------------------------------------------------------------------------- registry
@dataclass(eq=False)
class _ModelHooks:
    base: nn.Module
    blocks: nn.ModuleList
    frames: list[Frame] = field(default_factory=list)
    base_handles: list[RemovableHandle] = field(default_factory=list)
    layer_handles: dict[int, RemovableHandle] = field(default_factory=dict)
    layer_refs: dict[int, int] = field(default_factory=dict)


_MODELS: weakref.WeakKeyDictionary[nn.Module, _ModelHooks] = weakref.WeakKeyDictionary()


def _check_concurrency(entry: _ModelHooks, frame: Frame) -> None:
    for other in entry.frames:
        if other.thread == frame.thread:
            continue
        if other.folded:
            raise ConcurrentSteeringError(
                f"steer: thread {other.thread} holds this model in folded mode (its weights are rewritten); "
                "steering it from another thread would be silently mixed"
            )
        if frame.folded:
            raise ConcurrentSteeringError(
                f"steer: mode='folded' rewrites the weights, but thread {other.thread} is steering this model; "
                "use mode='hook' (isolated per thread) or a model per thread"
            )


def _acquire(frame: Frame) -> None:
    with _LOCK:
        entry = _MODELS.get(frame.base)
        if entry is None:
            entry = _ModelHooks(frame.base, frame.blocks)
            _MODELS[frame.base] = entry
        _check_concurrency(entry, frame)
        entry.frames.append(frame)
        if frame.folded:
            return
        try:
            if not entry.base_handles:
                base = frame.base
                entry.base_handles.append(base.register_forward_pre_hook(_make_pre_hook(base), with_kwargs=True))
                entry.base_handles.append(
                    base.register_forward_hook(_make_post_hook(base), with_kwargs=True, always_call=True)
                )
            for layer in frame.ops:
                refs = entry.layer_refs.get(layer, 0)
                if refs == 0:
                    entry.layer_handles[layer] = entry.blocks[layer].register_forward_hook(
                        _make_layer_hook(frame.base, layer)
                    )
                entry.layer_refs[layer] = refs + 1
        except BaseException:
            _release(frame)
            raise


def _release(frame: Frame) -> None:
    removed: list[tuple[nn.Module, RemovableHandle]] = []
    with _LOCK:
        entry = _MODELS.get(frame.base)
        if entry is None or frame not in entry.frames:
            return
        entry.frames.remove(frame)
        if not frame.folded:
            for layer in frame.ops:
                refs = entry.layer_refs.get(layer, 0) - 1
                if refs <= 0:
                    entry.layer_refs.pop(layer, None)
                    handle = entry.layer_handles.pop(layer, None)
                    if handle is not None:
                        handle.remove()
                        removed.append((entry.blocks[layer], handle))
                else:
                    entry.layer_refs[layer] = refs
            if entry.base_handles and not any(not f.folded for f in entry.frames):
                for handle in entry.base_handles:
                    handle.remove()
                    removed.append((entry.base, handle))
                entry.base_handles.clear()
        if not entry.frames:
            del _MODELS[frame.base]
    check_removed(removed)


def check_removed(installed: Sequence[tuple[nn.Module, RemovableHandle]]) -> None:
    """Postcondition: none of the given hooks is still registered (others' hooks are left alone).

    Raises:
        HookLeakError: a hook is still on its module.
    """
    for module, handle in installed:
        registry = hook_registered(module, handle.id)
        if registry is not None:
            raise HookLeakError(f"steer: hook {handle.id} is still on {type(module).__name__}.{registry} after exit")


@contextmanager
def activate(frame: Frame) -> Iterator[Frame]:
    """Make ``frame`` active in the calling context for the duration of the block.

    Post (normal exit or exception): the frame is inactive everywhere, its per-thread state is
    dropped, and every hook no other active frame needs is removed (checked: HookLeakError).

    Raises:
        ConcurrentSteeringError: the model is folded by another thread, or ``frame`` is folded
            and another thread steers the model.
    """
    _acquire(frame)
    _ACTIVE.set((*_ACTIVE.get(), frame))
    try:
        yield frame
    finally:
        frame.closed = True
        _ACTIVE.set(tuple(f for f in _ACTIVE.get() if f is not frame))
        for st in frame.states.values():
            st.last_ids = st.pad = st.in_prompt = None
            st.masks.clear()
        _release(frame)
