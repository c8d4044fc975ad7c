"""Properties of the steering context manager on tiny random models (exact, no download).

Every comparison is against a *pristine* deep copy that never had a hook, or against an
oracle computed independently of the hook (``raw layer output + alpha * v``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import torch

from steering_core.layers import decoder_layers, split_output
from steering_core.ops import steer_tensor
from steering_core.steer import hook_snapshot, steer

HIDDEN = 64
PROMPT_LEN = 7


def _inputs(
    seed: int = 1, batch: int = 2, length: int = PROMPT_LEN, pad_first: int = 3
) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 1000, (batch, length), generator=gen)
    mask = torch.ones_like(ids)
    if batch > 1 and pad_first:
        ids[0, :pad_first] = 0
        mask[0, :pad_first] = 0
    return ids, mask


def _vector(seed: int = 2, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(HIDDEN, generator=torch.Generator().manual_seed(seed)) * scale


def _greedy(model: Any, ids: torch.Tensor, mask: torch.Tensor, n: int = 8, use_cache: bool = True) -> torch.Tensor:
    with torch.no_grad():
        out = model.generate(
            input_ids=ids,
            attention_mask=mask,
            max_new_tokens=n,
            min_new_tokens=n,
            do_sample=False,
            pad_token_id=0,
            use_cache=use_cache,
        )
    return out[:, ids.shape[1] :]


def _logits(model: Any, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=mask).logits


@contextmanager
def _record(model: Any, layer: int) -> Iterator[list[torch.Tensor]]:
    """Record a layer's output on every call (register order decides raw vs steered)."""
    seen: list[torch.Tensor] = []
    handle = decoder_layers(model)[layer].register_forward_hook(
        lambda _m, _a, out: seen.append(split_output(out)[0].detach().clone())
    )
    try:
        yield seen
    finally:
        handle.remove()


# --------------------------------------------------------------------------- alpha = 0
def test_zero_alpha_is_bit_identical_to_unhooked_model(tiny: Any, pristine_of: Callable[[Any], Any]) -> None:
    reference = pristine_of(tiny)
    ids, mask = _inputs()
    with steer(tiny, _vector(), 0.0, layers=[1, 2]) as handle:
        assert not handle.installed
        assert hook_snapshot(tiny) == {}
        logits = _logits(tiny, ids, mask)
        tokens = _greedy(tiny, ids, mask)
    assert torch.equal(logits, _logits(reference, ids, mask))
    assert torch.equal(tokens, _greedy(reference, ids, mask))


def test_negative_zero_alpha_is_also_identity(tiny: Any, pristine_of: Callable[[Any], Any]) -> None:
    reference = pristine_of(tiny)
    ids, mask = _inputs()
    with steer(tiny, _vector(), -0.0, layers=1):
        assert torch.equal(_logits(tiny, ids, mask), _logits(reference, ids, mask))


# ------------------------------------------------------------------------- clean exit
def test_exit_restores_model_exactly(tiny: Any, pristine_of: Callable[[Any], Any]) -> None:
    reference = pristine_of(tiny)
    ids, mask = _inputs()
    before_hooks = hook_snapshot(tiny)
    before_state = {k: v.clone() for k, v in tiny.state_dict().items()}
    with steer(tiny, _vector(), 2.0, layers=[0, 3]):
        assert hook_snapshot(tiny) != before_hooks
        steered = _logits(tiny, ids, mask)
    assert not torch.equal(steered, _logits(reference, ids, mask))
    assert hook_snapshot(tiny) == before_hooks == {}
    after_state = tiny.state_dict()
    assert before_state.keys() == after_state.keys()
    assert all(torch.equal(before_state[k], after_state[k]) for k in before_state)
    assert torch.equal(_logits(tiny, ids, mask), _logits(reference, ids, mask))


def test_exception_inside_leaves_model_exactly_as_before(tiny: Any, pristine_of: Callable[[Any], Any]) -> None:
    reference = pristine_of(tiny)
    ids, mask = _inputs()

    class Boom(RuntimeError):
        pass

    with pytest.raises(Boom), steer(tiny, _vector(), 2.0, layers=2):
        _logits(tiny, ids, mask)
        raise Boom("inside the context")
    assert hook_snapshot(tiny) == {}
    assert torch.equal(_logits(tiny, ids, mask), _logits(reference, ids, mask))
    assert torch.equal(_greedy(tiny, ids, mask), _greedy(reference, ids, mask))


def test_exception_during_forward_also_cleans_up(tiny: Any, pristine_of: Callable[[Any], Any]) -> None:
    reference = pristine_of(tiny)
    ids, mask = _inputs()

    def explode(_m: Any, _a: Any, _o: Any) -> None:
        raise FloatingPointError("raised mid-forward, after the steering hook ran")

    bomb = decoder_layers(tiny)[3].register_forward_hook(explode)
    try:
        with pytest.raises(FloatingPointError), steer(tiny, _vector(), 1.0, layers=1, positions="generated"):
            _greedy(tiny, ids, mask)
    finally:
        bomb.remove()
    assert hook_snapshot(tiny) == {}
    assert torch.equal(_greedy(tiny, ids, mask), _greedy(reference, ids, mask))


# ----------------------------------------------------------------------------- oracle
@pytest.mark.parametrize("alpha", [0.5, -1.25, 3.0])
def test_hooked_layer_output_is_raw_output_plus_alpha_v(tiny: Any, alpha: float) -> None:
    ids, mask = _inputs(pad_first=0)
    v = _vector()
    layer = 2
    with (
        _record(tiny, layer) as raw,
        steer(tiny, v, alpha, layers=layer),
        _record(tiny, layer) as steered,
    ):  # raw is registered first: it sees the layer's own output
        _logits(tiny, ids, mask)
    assert len(raw) == len(steered) == 1
    # Independent oracle in float64; the hook's float32 result must agree to rounding...
    oracle64 = raw[0].double() + alpha * v.double()
    assert torch.allclose(steered[0].double(), oracle64, rtol=0, atol=1e-5)
    # ...and bit for bit with IEEE float32 semantics fl(h + fl(fl(alpha) * v)).
    delta32 = v * torch.tensor(alpha, dtype=torch.float32)
    assert torch.equal(steered[0], raw[0] + delta32)
    # The hook performs exactly the arithmetic the formal layer specifies (steering_core/data/properties.toml).
    assert torch.equal(steered[0], steer_tensor(raw[0], v, alpha))


def test_padding_is_never_steered(tiny: Any) -> None:
    ids, mask = _inputs(pad_first=3)
    v = _vector()
    with _record(tiny, 1) as raw, steer(tiny, v, 2.0, layers=1), _record(tiny, 1) as steered:
        _logits(tiny, ids, mask)
    diff = steered[0] - raw[0]
    assert torch.equal(steered[0][0, :3], raw[0][0, :3])  # padded positions keep their bits
    assert torch.allclose(diff[0, 3:], (2.0 * v).expand(PROMPT_LEN - 3, HIDDEN), atol=1e-5)
    assert torch.allclose(diff[1], (2.0 * v).expand(PROMPT_LEN, HIDDEN), atol=1e-5)


@pytest.mark.parametrize("use_cache", [True, False])
@pytest.mark.parametrize("positions", ["all", "prompt", "generated"])
def test_positions_steer_exactly_what_they_name(tiny: Any, positions: str, use_cache: bool) -> None:
    ids, mask = _inputs(pad_first=2)
    v = _vector()
    alpha = 1.5
    n_new = 4
    steering = steer(tiny, v, alpha, layers=1, positions=positions)  # type: ignore[arg-type]
    with _record(tiny, 1) as raw, steering, _record(tiny, 1) as steered:
        _greedy(tiny, ids, mask, n=n_new, use_cache=use_cache)
    assert len(raw) == len(steered) == n_new  # one forward per new token
    delta = v * torch.tensor(alpha)
    total = PROMPT_LEN + n_new - 1  # the last new token is never fed back
    for call, (r, s) in enumerate(zip(raw, steered, strict=True)):
        seq = r.shape[1]
        start = 0 if not use_cache or call == 0 else PROMPT_LEN + call - 1
        assert start + seq <= total
        for pos in range(seq):
            absolute = start + pos
            for row in range(2):
                padding = row == 0 and absolute < 2
                named = {
                    "all": True,
                    "prompt": absolute < PROMPT_LEN,
                    "generated": absolute >= PROMPT_LEN,  # includes the first generated token
                }[positions]
                if named and not padding:
                    assert torch.equal(s[row, pos], r[row, pos] + delta), (call, pos, row)
                else:
                    assert torch.equal(s[row, pos], r[row, pos]), (call, pos, row)
    if positions == "generated" and use_cache:
        # The first generated token (absolute position PROMPT_LEN) is steered when fed back.
        assert torch.equal(steered[1][:, 0], raw[1][:, 0] + delta)


# --------------------------------------------------------------- cache and padding
@pytest.mark.parametrize("positions", ["all", "prompt", "generated"])
def test_kv_cache_gives_same_tokens_as_no_cache(tiny: Any, positions: str) -> None:
    ids, mask = _inputs(pad_first=0, batch=1)
    v = _vector(scale=0.5)
    with steer(tiny, v, 4.0, layers=[1, 2], positions=positions):  # type: ignore[arg-type]
        cached = _greedy(tiny, ids, mask, n=10, use_cache=True)
        uncached = _greedy(tiny, ids, mask, n=10, use_cache=False)
    assert torch.equal(cached, uncached)


def test_steering_changes_tokens_at_these_settings(tiny: Any, pristine_of: Callable[[Any], Any]) -> None:
    """Guard against vacuous equality tests: the settings above do move greedy tokens."""
    reference = pristine_of(tiny)
    ids, mask = _inputs(pad_first=0, batch=1)
    with steer(tiny, _vector(scale=0.5), 4.0, layers=[1, 2]):
        steered = _greedy(tiny, ids, mask, n=10)
    assert not torch.equal(steered, _greedy(reference, ids, mask, n=10))


def test_left_padded_batch_matches_each_prompt_alone(tiny: Any) -> None:
    gen = torch.Generator().manual_seed(5)
    prompts = [torch.randint(5, 1000, (n,), generator=gen) for n in (4, 7, 6)]
    width = max(len(p) for p in prompts)
    ids = torch.zeros((len(prompts), width), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, p in enumerate(prompts):
        ids[row, width - len(p) :] = p
        mask[row, width - len(p) :] = 1
    v = _vector(scale=0.5)
    with steer(tiny, v, 4.0, layers=1):
        batched = _greedy(tiny, ids, mask, n=8)
        alone = [_greedy(tiny, p[None], torch.ones(1, len(p), dtype=torch.long), n=8)[0] for p in prompts]
    for row, tokens in enumerate(alone):
        assert torch.equal(batched[row], tokens), row


# ------------------------------------------------------------------------ composition
def test_nested_contexts_compose_additively(tiny: Any) -> None:
    ids, mask = _inputs(pad_first=0)
    u, w = _vector(3), _vector(4)
    with (
        _record(tiny, 1) as raw,
        steer(tiny, u, 1.0, layers=1),
        steer(tiny, w, 1.0, layers=1),
        _record(tiny, 1) as both,
    ):
        _logits(tiny, ids, mask)
    assert torch.allclose(both[0], raw[0] + u + w, atol=1e-5)
    assert hook_snapshot(tiny) == {}


def test_nested_equals_sum_vector(tiny: Any) -> None:
    ids, mask = _inputs(pad_first=0)
    u, w = _vector(3), _vector(4)
    with steer(tiny, u, 0.7, layers=2), steer(tiny, w, 0.7, layers=2):
        nested = _logits(tiny, ids, mask)
    with steer(tiny, u + w, 0.7, layers=2):
        summed = _logits(tiny, ids, mask)
    assert torch.allclose(nested, summed, atol=1e-4)


def test_sequential_uses_are_independent(tiny: Any, pristine_of: Callable[[Any], Any]) -> None:
    reference = pristine_of(tiny)
    ids, mask = _inputs()
    with steer(tiny, _vector(3), 2.0, layers=1):
        first = _logits(tiny, ids, mask)
    with steer(tiny, _vector(3), 2.0, layers=1):
        second = _logits(tiny, ids, mask)
    assert torch.equal(first, second)
    assert torch.equal(_logits(tiny, ids, mask), _logits(reference, ids, mask))


# ----------------------------------------------------------------------------- dtypes
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_vector_is_cast_to_residual_dtype(dtype: torch.dtype) -> None:
    from tests.conftest import make_tiny_model

    model = make_tiny_model("qwen3", dtype=dtype)
    ids, mask = _inputs(pad_first=0)
    v = _vector()  # float32
    with _record(model, 1) as raw, steer(model, v, 0.75, layers=1) as handle, _record(model, 1) as steered:
        _logits(model, ids, mask)
    assert handle.deltas[1].dtype == dtype
    assert steered[0].dtype == dtype
    expected_delta = (v * torch.tensor(0.75)).to(dtype)
    assert torch.equal(steered[0], raw[0] + expected_delta)


def test_fp16_overflowing_delta_is_refused() -> None:
    from steering_core.errors import DtypeMismatchError
    from tests.conftest import make_tiny_model

    model = make_tiny_model("qwen3", dtype=torch.float16)
    with pytest.raises(DtypeMismatchError, match="alpha"), steer(model, _vector(scale=1e4), 100.0, layers=1):
        pass
    assert hook_snapshot(model) == {}


def test_gemma3_is_supported(pristine_of: Callable[[Any], Any]) -> None:
    from tests.conftest import make_tiny_model

    model = make_tiny_model("gemma3")
    reference = pristine_of(model)
    ids, mask = _inputs()
    with steer(model, _vector(), 0.0, layers=1):
        assert torch.equal(_logits(model, ids, mask), _logits(reference, ids, mask))
    with _record(model, 2) as raw, steer(model, _vector(), 1.0, layers=2), _record(model, 2) as steered:
        _logits(model, ids, mask)
    assert torch.equal(steered[0][1], raw[0][1] + _vector())


def test_user_hooks_added_inside_survive_and_ours_are_gone(tiny: Any) -> None:
    with steer(tiny, _vector(), 1.0, layers=1):
        mine = decoder_layers(tiny)[1].register_forward_hook(lambda _m, _a, _o: None)
    assert hook_snapshot(tiny) == {"model.layers.1": (mine.id,)}
    mine.remove()
    assert hook_snapshot(tiny) == {}


def test_a_hook_that_fails_to_detach_is_reported(tiny: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from torch.utils.hooks import RemovableHandle

    from steering_core.errors import HookLeakError

    monkeypatch.setattr(RemovableHandle, "remove", lambda self: None)
    with pytest.raises(HookLeakError, match="still on"), steer(tiny, _vector(), 1.0, layers=1):
        pass
