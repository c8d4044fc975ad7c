"""Contracts on versus off around a steered generation (ratio, interleaved, one run).

Contracts run when a steering context is entered (validation of the vector, alpha and the
delta for each layer) and never per token, so their cost is a fixed amount per ``steer()``
call. This suite measures that amount with contracts on and off, and relates the difference
to one steered greedy generation of ``NEW_TOKENS`` tokens on the same model.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import pytest
import torch

from contracts.api import contracts_disabled
from steering_core.steer import steer
from tests.conftest import make_tiny_model

NEW_TOKENS = 48


def _enter_exit(model: Any, vector: torch.Tensor, repeats: int = 200) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        with steer(model, vector, 1.0, layers=[1, 2]):
            pass
    return (time.perf_counter() - start) / repeats


def _generation(model: Any, ids: torch.Tensor, vector: torch.Tensor) -> float:
    with torch.no_grad(), steer(model, vector, 1.0, layers=[1, 2]):
        start = time.perf_counter()
        model.generate(input_ids=ids, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, do_sample=False)
        return time.perf_counter() - start


def contract_overhead(model: Any) -> dict[str, float]:
    """Per-``steer()`` contract cost as a fraction of one steered generation."""
    vector = torch.randn(64, generator=torch.Generator().manual_seed(0))
    ids = torch.randint(5, 1000, (1, 16), generator=torch.Generator().manual_seed(1))
    on, off = [], []
    for _ in range(5):
        on.append(_enter_exit(model, vector))
        with contracts_disabled():
            off.append(_enter_exit(model, vector))
    generation = statistics.median(_generation(model, ids, vector) for _ in range(3))
    cost = statistics.median(on) - statistics.median(off)
    return {
        "enter_exit_on_s": statistics.median(on),
        "enter_exit_off_s": statistics.median(off),
        "generation_s": generation,
        "overhead_fraction": cost / generation,
    }


@pytest.mark.parametrize("arch", ["qwen3"])
def test_contract_overhead_tiny(benchmark: Any, arch: str) -> None:
    model = make_tiny_model(arch)
    result = benchmark.pedantic(contract_overhead, args=(model,), rounds=1, iterations=1)
    benchmark.extra_info.update({k: round(v, 6) for k, v in result.items()})
    print(
        f"\n{arch}: steer() enter+exit {result['enter_exit_on_s'] * 1e3:.3f} ms with contracts, "
        f"{result['enter_exit_off_s'] * 1e3:.3f} ms without; one {NEW_TOKENS}-token steered generation "
        f"{result['generation_s'] * 1e3:.1f} ms; contract overhead {result['overhead_fraction']:.2%}"
    )
