"""Folded mode's parity with the hook, per dtype, exactly as the README states it (point 7).

The claim (``steering_core.fold.FOLDED_LOGIT_RTOL``, README "mode=folded"): per forward pass the
logits of folded and hook steering differ by at most ``rtol[dtype] * max|logit|`` over the real
positions, so the greedy token is the same wherever the top-2 margin exceeds twice that bound; at
a closer tie it may flip. Checked at every position of left-padded batches of tiny models (two
architectures, several seeds and alphas) in fp32, fp16 and bf16, and (slow) on the embedded model.
The README must state the same numbers and no unconditional "same greedy tokens".
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import torch

from steering_core.steer import steer
from tests.hardening._support import REPO, tiny_model

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def _rtol() -> dict[torch.dtype, float]:
    from steering_core.fold import FOLDED_LOGIT_RTOL

    return FOLDED_LOGIT_RTOL


def _compare(model: Any, ids: torch.Tensor, mask: torch.Tensor, v: Any, alpha: float, layers: Any) -> dict[str, Any]:
    with torch.no_grad():
        with steer(model, v, alpha, layers=layers):
            hook = model(input_ids=ids, attention_mask=mask).logits.float()
        with steer(model, v, alpha, layers=layers, mode="folded"):
            fold = model(input_ids=ids, attention_mask=mask).logits.float()
    real = mask.bool()
    hook, fold = hook[real], fold[real]
    top2 = hook.topk(2, dim=-1).values
    return {
        "diff": (hook - fold).abs().max().item(),
        "scale": hook.abs().max().item(),
        "margin": top2[:, 0] - top2[:, 1],
        "same": hook.argmax(-1) == fold.argmax(-1),
    }


def _assert_claim(result: dict[str, Any], rtol: float, where: str) -> None:
    bound = rtol * result["scale"]
    assert result["diff"] <= bound, f"{where}: max|dlogit| {result['diff']:.3g} > {bound:.3g}"
    clear = result["margin"] > 2 * bound
    assert bool(result["same"][clear].all()), f"{where}: a token flipped at a margin above 2 x the bound"


@pytest.mark.parametrize("dtype_name", sorted(DTYPES))
@pytest.mark.parametrize("arch", ["qwen2", "llama"])
def test_folded_logits_within_the_stated_tolerance(dtype_name: str, arch: str) -> None:
    dtype = DTYPES[dtype_name]
    rtol = _rtol()[dtype]
    for seed in range(3):
        model = tiny_model(arch, seed=seed).to(dtype)
        with torch.no_grad():
            model.model.embed_tokens.weight.mul_(8.0)  # realistic residual scale
        gen = torch.Generator().manual_seed(100 + seed)
        ids = torch.randint(3, 250, (4, 12), generator=gen)
        mask = torch.ones_like(ids)
        mask[1, :3] = 0  # left padding
        mask[3, :7] = 0
        v = torch.randn(64, generator=gen)
        for alpha in (0.5, 2.0, 8.0):
            result = _compare(model, ids, mask, v, alpha, [1, 2])
            _assert_claim(result, rtol, f"{arch} {dtype_name} seed {seed} alpha {alpha}")


def test_the_readme_states_the_tested_guarantee() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start = readme.index('mode="folded")`')
    paragraph = readme[start : readme.index("\n- ", start)]
    assert "Same greedy tokens" not in paragraph and "same greedy tokens as the hook" not in paragraph
    rtol = _rtol()
    for name, dtype in DTYPES.items():
        short = {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16"}[name]
        stated = re.search(rf"\b{short} ([0-9.]+e-?[0-9]+)", paragraph)
        assert stated and float(stated.group(1)) == rtol[dtype], f"README does not state {short} {rtol[dtype]:g}"
    assert "near tie" in paragraph


@pytest.mark.slow
def test_folded_parity_on_the_embedded_model() -> None:
    from steering_core.extract import extract
    from steering_core.models import load_model
    from steering_core.prompt_sets import prompt_set
    from steering_core.prompts import encode

    lm = load_model()
    vector = extract(lm, style="terse", layers=[12])
    batch = encode(lm.tokenizer, prompt_set("neutral-questions-v1")[:4])
    for name, dtype in DTYPES.items():
        model = lm.model.to(dtype)
        result = _compare(model, batch.input_ids, batch.attention_mask, vector, 0.5, 12)
        _assert_claim(result, _rtol()[dtype], f"embedded {name}")
    lm.model.to(torch.float32)
