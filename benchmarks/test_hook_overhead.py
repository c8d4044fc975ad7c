"""Hook overhead: the same greedy generation unsteered and steered, interleaved A B A B.

Reported as ratios to unsteered within one run (never absolute times). Run with
``.venv/bin/python -m pytest benchmarks -p no:cacheprovider --benchmark-only``.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import pytest
import torch

from steering_core.steer import steer
from tests.conftest import make_tiny_model

NEW_TOKENS = 48
ROUNDS = 15


def _generate(model: Any, ids: torch.Tensor) -> None:
    with torch.no_grad():
        model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=NEW_TOKENS,
            min_new_tokens=NEW_TOKENS,
            do_sample=False,
            pad_token_id=0,
        )


def interleaved_ratio(model: Any, ids: torch.Tensor, vector: torch.Tensor, layer: int) -> dict[str, float]:
    """Median and spread of steered/unsteered time ratios over ``ROUNDS`` interleaved pairs."""
    _generate(model, ids)  # warm-up
    ratios = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        _generate(model, ids)
        plain = time.perf_counter() - start
        with steer(model, vector, 1.0, layers=layer):
            start = time.perf_counter()
            _generate(model, ids)
            steered = time.perf_counter() - start
        ratios.append(steered / plain)
    quartiles = statistics.quantiles(ratios, n=4)
    return {"median": statistics.median(ratios), "q1": quartiles[0], "q3": quartiles[2]}


@pytest.mark.parametrize("arch", ["qwen3", "llama"])
def test_hook_overhead_tiny(benchmark: Any, arch: str) -> None:
    model = make_tiny_model(arch)
    ids = torch.randint(5, 1000, (1, 16), generator=torch.Generator().manual_seed(0))
    vector = torch.randn(64, generator=torch.Generator().manual_seed(1))
    result = benchmark.pedantic(interleaved_ratio, args=(model, ids, vector, 2), rounds=1, iterations=1)
    benchmark.extra_info.update({f"steered/unsteered {k}": round(v, 4) for k, v in result.items()})
    print(f"\n{arch}: steered/unsteered median {result['median']:.3f} (IQR {result['q1']:.3f}-{result['q3']:.3f})")
