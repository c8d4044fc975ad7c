"""Suite 4 -- contracts on versus off around a steered generation (ratio, interleaved, one run).

Contracts run when a steering context is entered (validation of the vector, alpha and the
delta for each layer) and never per token, so their cost is a fixed amount per ``steer()``
call. This suite measures that amount with contracts on and off (interleaved), and relates
the difference to one steered greedy generation of ``BENCH_TOKENS`` tokens on the same model,
on a tiny random model and on the embedded model.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from typing import Any

import pytest
import torch

from benchmarks.common import env_int, greedy, summarize, write_fragment
from contracts.api import contracts_disabled
from steering_core.steer import steer
from tests.conftest import make_tiny_model

NEW_TOKENS = env_int("BENCH_TOKENS", 48)


def _enter_exit(model: Any, vector: torch.Tensor, layers: Sequence[int], repeats: int = 200) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        with steer(model, vector, 1.0, layers=layers):
            pass
    return (time.perf_counter() - start) / repeats


def contract_overhead(
    model: Any, ids: torch.Tensor, mask: torch.Tensor, vector: torch.Tensor, layers: Sequence[int], pad: int
) -> dict[str, Any]:
    """Per-``steer()`` contract cost as a fraction of one steered generation."""
    on, off = [], []
    for _ in range(5):
        on.append(_enter_exit(model, vector, layers))
        with contracts_disabled():
            off.append(_enter_exit(model, vector, layers))
    generations = []
    for _ in range(env_int("BENCH_ROUNDS_CONTRACTS", 3)):
        with steer(model, vector, 1.0, layers=layers):
            start = time.perf_counter()
            greedy(model, ids, mask, NEW_TOKENS, pad)
            generations.append(time.perf_counter() - start)
    generation = statistics.median(generations)
    cost = statistics.median(on) - statistics.median(off)
    return {
        "layers": list(layers),
        "tokens": NEW_TOKENS,
        "enter_exit_on_s": summarize(on),
        "enter_exit_off_s": summarize(off),
        "generation_s": summarize(generations),
        "contract_cost_s": cost,
        "overhead_fraction": cost / generation,
        "ratio_on_off": (generation + cost) / generation,
    }


def _report(benchmark: Any, name: str, result: dict[str, Any]) -> None:
    write_fragment(f"contracts-{name}", {"model": name, **result})
    benchmark.extra_info.update({"overhead_fraction": round(result["overhead_fraction"], 6)})
    print(
        f"\n{name}: steer() enter+exit {result['enter_exit_on_s']['median'] * 1e3:.3f} ms with contracts, "
        f"{result['enter_exit_off_s']['median'] * 1e3:.3f} ms without; one {NEW_TOKENS}-token steered generation "
        f"{result['generation_s']['median'] * 1e3:.1f} ms; contract overhead {result['overhead_fraction']:.3%}"
    )


@pytest.mark.parametrize("arch", ["qwen3"])
def test_contract_overhead_tiny(benchmark: Any, arch: str) -> None:
    model = make_tiny_model(arch)
    vector = torch.randn(64, generator=torch.Generator().manual_seed(0))
    ids = torch.randint(5, 1000, (1, 16), generator=torch.Generator().manual_seed(1))
    args = (model, ids, torch.ones_like(ids), vector, [1, 2], 0)
    result = benchmark.pedantic(contract_overhead, args=args, rounds=1, iterations=1)
    _report(benchmark, f"tiny-{arch}", result)


def test_contract_overhead_embedded(benchmark: Any, embedded: Any) -> None:
    from steering_core.extract import extract
    from steering_core.prompts import encode, pad_token_id

    vector = extract(embedded, style="terse", layers=[12])[12]
    batch = encode(embedded.tokenizer, ["Explain what a mutex is."])
    args = (embedded.model, batch.input_ids, batch.attention_mask, vector, [12], pad_token_id(embedded.tokenizer))
    result = benchmark.pedantic(contract_overhead, args=args, rounds=1, iterations=1)
    _report(benchmark, "embedded", result)
