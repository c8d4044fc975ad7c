"""Folded steering: exact against the hook, bit-identically reversible, refused where it cannot
express the hook, and exportable as a normal model folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from steering_core.errors import InvalidParameterError, UnsupportedModelError
from steering_core.models import LoadedModel
from steering_core.steer import hook_snapshot, steer
from tests.conftest import make_tiny_model

HIDDEN = 64


def _vector(seed: int = 2, scale: float = 0.5) -> torch.Tensor:
    return torch.randn(HIDDEN, generator=torch.Generator().manual_seed(seed)) * scale


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.randint(5, 1000, (2, 9), generator=torch.Generator().manual_seed(3))
    mask = torch.ones_like(ids)
    ids[0, :3] = 0
    mask[0, :3] = 0
    return ids, mask


def _logits(model: Any, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=mask).logits


def _greedy(model: Any, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        out = model.generate(
            input_ids=ids, attention_mask=mask, max_new_tokens=10, min_new_tokens=10, do_sample=False, pad_token_id=0
        )
    return out[:, ids.shape[1] :]


def _snapshot(model: Any) -> dict[str, torch.Tensor]:
    state = {f"param:{k}": v.detach().clone() for k, v in model.named_parameters()}
    state.update({f"buffer:{k}": v.detach().clone() for k, v in model.named_buffers()})
    state.update({f"state:{k}": v.detach().clone() for k, v in model.state_dict().items()})
    return state


@pytest.mark.parametrize("arch", ["qwen3", "qwen2", "llama"])
def test_folded_matches_the_hook(arch: str) -> None:
    model = make_tiny_model(arch)
    ids, mask = _batch()
    v = _vector()
    with steer(model, v, 4.0, layers=[1, 2]):
        hook_logits, hook_tokens = _logits(model, ids, mask), _greedy(model, ids, mask)
    with steer(model, v, 4.0, layers=[1, 2], mode="folded") as handle:
        assert hook_snapshot(model) == {}  # no hook at all: zero per-token cost
        assert handle.installed
        fold_logits, fold_tokens = _logits(model, ids, mask), _greedy(model, ids, mask)
    real = mask.bool()  # padded positions differ by design (the bias also shifts them)
    assert torch.allclose(fold_logits[real], hook_logits[real], atol=1e-4, rtol=1e-4)
    assert torch.equal(fold_tokens, hook_tokens)


@pytest.mark.parametrize("arch", ["qwen3", "qwen2", "llama"])
def test_folded_exit_is_bit_identical(arch: str, pristine_of: Callable[[Any], Any]) -> None:
    model = make_tiny_model(arch)  # no MLP biases: folding creates them and must remove them again
    reference = pristine_of(model)
    before = _snapshot(model)
    ids, mask = _batch()
    with pytest.raises(RuntimeError, match="boom"), steer(model, _vector(), 3.0, layers=[0, 3], mode="folded"):
        assert "state:model.layers.0.mlp.down_proj.bias" in _snapshot(model)
        raise RuntimeError("boom")
    with steer(model, _vector(), 3.0, layers=[0, 3], mode="folded"):
        steered = _logits(model, ids, mask)
    after = _snapshot(model)
    assert after.keys() == before.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert list(model.state_dict()) == list(reference.state_dict())
    assert torch.equal(_logits(model, ids, mask), _logits(reference, ids, mask))
    assert not torch.equal(steered, _logits(reference, ids, mask))


def test_existing_bias_is_restored_exactly() -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    model = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=1000,
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            mlp_bias=True,
        )
    ).eval()
    with torch.no_grad():
        model.model.layers[1].mlp.down_proj.bias.normal_()
    original = model.model.layers[1].mlp.down_proj.bias.detach().clone()
    with steer(model, _vector(), 0.1, layers=1, mode="folded"):
        assert not torch.equal(model.model.layers[1].mlp.down_proj.bias, original)
    assert torch.equal(model.model.layers[1].mlp.down_proj.bias, original)


def test_nested_folded_contexts_restore_in_order() -> None:
    model = make_tiny_model("qwen2")
    with steer(model, _vector(1), 1.0, layers=1, mode="folded"), steer(model, _vector(2), 1.0, layers=1, mode="folded"):
        bias = model.model.layers[1].mlp.down_proj.bias
        assert bias is not None and torch.allclose(bias, _vector(1) + _vector(2), atol=1e-6)
    assert model.model.layers[1].mlp.down_proj.bias is None


def test_folded_refuses_what_it_cannot_express() -> None:
    model = make_tiny_model("qwen3")
    for positions in ("prompt", "generated"):
        with pytest.raises(InvalidParameterError, match="mode"), steer(model, _vector(), 1.0, 1, positions, "folded"):  # type: ignore[arg-type]
            pass
    gemma = make_tiny_model("gemma3")  # post_feedforward_layernorm follows down_proj
    with pytest.raises(UnsupportedModelError, match="mode='hook'"), steer(gemma, _vector(), 1.0, 1, mode="folded"):
        pass
    with pytest.raises(InvalidParameterError, match="mode"), steer(model, _vector(), 1.0, 1, mode="bias"):  # type: ignore[arg-type]
        pass


def test_zero_alpha_folded_installs_nothing(pristine_of: Callable[[Any], Any]) -> None:
    model = make_tiny_model("qwen3")
    reference = pristine_of(model)
    ids, mask = _batch()
    with steer(model, _vector(), 0.0, layers=1, mode="folded") as handle:
        assert not handle.installed and model.model.layers[1].mlp.down_proj.bias is None
        assert torch.equal(_logits(model, ids, mask), _logits(reference, ids, mask))


@pytest.mark.parametrize("arch", ["qwen2", "llama"])
def test_export_folded_reloads_as_a_normal_model(arch: str, tmp_path: Path, tokenizer: Any) -> None:
    from transformers import AutoModelForCausalLM

    from steering_core.fold import export_folded
    from steering_core.ops import steering_delta

    model = make_tiny_model(arch)
    v = _vector()
    ids, mask = _batch()
    with steer(model, v, 4.0, layers=[1, 2]):
        hook_logits = _logits(model, ids, mask)
    before = _snapshot(model)
    deltas = {layer: steering_delta(v, 4.0, torch.float32) for layer in (1, 2)}
    out = export_folded(LoadedModel(model=model, tokenizer=tokenizer), deltas, tmp_path / "steered")
    assert all(torch.equal(before[k], t) for k, t in _snapshot(model).items())  # source untouched
    reloaded = AutoModelForCausalLM.from_pretrained(str(out)).eval()
    assert type(reloaded).__name__ == "LlamaForCausalLM"
    real = mask.bool()
    assert torch.allclose(_logits(reloaded, ids, mask)[real], hook_logits[real], atol=1e-4, rtol=1e-4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["steered"]  # no temporary left behind


def test_export_refuses_unexpressible_architectures(tmp_path: Path) -> None:
    from steering_core.fold import export_folded

    with pytest.raises(UnsupportedModelError, match="qwen3"):
        export_folded(LoadedModel(model=make_tiny_model("qwen3"), tokenizer=None), {1: _vector()}, tmp_path / "x")
    assert not (tmp_path / "x").exists()
