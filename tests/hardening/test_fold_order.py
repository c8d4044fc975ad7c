"""Folded mode: nested contexts on one layer exited out of order restore the weights exactly (point 2).

Enter folded A, enter folded B on the same layer, exit A, exit B. Before the fix, on a model
whose ``down_proj`` already had a bias, A's ``alpha * v`` stayed in the weights (drift); on a
model without one, B's exit died with a bare ``AssertionError``. Now, after A exits, the bias is
bit for bit what B alone makes, and after B exits it is the original (or None) again.
"""

from __future__ import annotations

import copy

import pytest
import torch

from steering_core.steer import steer
from tests.hardening._support import tiny_model

LAYER = 1


def _model(with_bias: bool) -> torch.nn.Module:
    model = tiny_model("llama", mlp_bias=with_bias)
    if with_bias:
        with torch.no_grad():
            for layer in model.model.layers:
                layer.mlp.down_proj.bias.copy_(torch.randn(64) * 0.3)
    return model


def _bias(model: torch.nn.Module) -> torch.Tensor | None:
    bias = model.model.layers[LAYER].mlp.down_proj.bias
    return None if bias is None else bias.detach().clone()


def _same(a: torch.Tensor | None, b: torch.Tensor | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return bool(torch.equal(a.view(torch.int32), b.view(torch.int32)))


@pytest.mark.parametrize("with_bias", [False, True], ids=["no-bias", "with-bias"])
@pytest.mark.parametrize("exit_order", ["A-then-B", "B-then-A"])
def test_nested_folded_contexts_exit_in_any_order(with_bias: bool, exit_order: str) -> None:
    model = _model(with_bias)
    pristine = copy.deepcopy(model)
    torch.manual_seed(1)
    va, vb = torch.randn(64), torch.randn(64)
    original = _bias(model)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    a = steer(model, va, 1.5, layers=LAYER, mode="folded")
    b = steer(model, vb, -0.7, layers=LAYER, mode="folded")
    a.__enter__()
    b.__enter__()
    first, second, (v_left, alpha_left) = (a, b, (vb, -0.7)) if exit_order == "A-then-B" else (b, a, (va, 1.5))
    first.__exit__(None, None, None)
    alone = copy.deepcopy(pristine)
    with steer(alone, v_left, alpha_left, layers=LAYER, mode="folded"):
        expected = _bias(alone)
    assert _same(_bias(model), expected), "after one exit the bias is not exactly what the other context alone makes"
    second.__exit__(None, None, None)
    assert _same(_bias(model), original), "after both exits the bias is not the original, bit for bit"
    after = model.state_dict()
    assert set(after) == set(state)
    assert all(torch.equal(after[k], state[k]) for k in state)
    ids = torch.tensor([[5, 9, 12, 7]])
    assert torch.equal(model(ids).logits, pristine(ids).logits)


@pytest.mark.parametrize("with_bias", [False, True], ids=["no-bias", "with-bias"])
def test_three_nested_folded_contexts_middle_exits_first(with_bias: bool) -> None:
    model = _model(with_bias)
    pristine = copy.deepcopy(model)
    vs = [torch.randn(64, generator=torch.Generator().manual_seed(i)) for i in range(3)]
    ctxs = [steer(model, v, 0.5 * (i + 1), layers=LAYER, mode="folded") for i, v in enumerate(vs)]
    for c in ctxs:
        c.__enter__()
    ctxs[1].__exit__(None, None, None)
    ctxs[0].__exit__(None, None, None)
    alone = copy.deepcopy(pristine)
    with steer(alone, vs[2], 1.5, layers=LAYER, mode="folded"):
        assert _same(_bias(model), _bias(alone))
    ctxs[2].__exit__(None, None, None)
    assert _same(_bias(model), _bias(pristine))


def test_an_exception_inside_nested_folded_blocks_restores_exactly() -> None:
    model = _model(True)
    original = _bias(model)
    outer = steer(model, torch.randn(64), 1.0, layers=LAYER, mode="folded")
    inner = steer(model, torch.randn(64), 2.0, layers=LAYER, mode="folded")
    with pytest.raises(RuntimeError, match="boom"), outer, inner:
        raise RuntimeError("boom")
    assert _same(_bias(model), original)
