"""vLLM steering overhead: throughput of a batch of 8 with 0, 1 and 4 distinct vectors vs stock vLLM.

One :class:`~steering_core.vllm.engine.SteeredLLM` (SmolLM2-135M, fp32, CPU, eager), prefix
caching off so every round does the same work: 8 prompts, exactly ``BENCH_VLLM_TOKENS`` new tokens
each (``min_tokens``), one batch. Conditions, interleaved round by round:

* ``stock``: the steering hooks removed (``steering_hooks(False)``): vLLM exactly as shipped;
* ``hooks_0``: hooks installed, no steered request (a server where nobody steers);
* ``vectors_1``: every row steered with one vector; ``vectors_4``: four vectors, two rows each.

Reported as ratios to ``stock`` of the same round (median, IQR). Target: <= 1.03. Also recorded:
the share of each forward's wall time spent inside the steering hooks (measured in the worker
with ``perf_counter`` around every hook call), a direct bound on the hooks' own cost that a noisy
shared machine blurs less than whole-batch ratios. Runs in the
vLLM environment only (``.venv-vllm/bin/python -m pytest benchmarks/test_vllm_overhead.py
--benchmark-only -s``); skipped elsewhere. Knobs: ``BENCH_VLLM_ROUNDS`` (default 5),
``BENCH_VLLM_TOKENS`` (default 32), ``BENCH_VLLM_MODEL`` (default smollm2).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
import torch

from benchmarks.common import env_int, interleaved, summarize, write_fragment

PROMPTS = [
    "Explain what a mutex is.",
    "What causes the seasons on Earth?",
    "Name three colours of the rainbow.",
    "Write one sentence about tea.",
    "What is a prime number?",
    "Describe a quiet harbour at dawn.",
    "List two uses of copper.",
    "Why is the sky blue?",
]
LAYER = {"smollm2": 15, "embedded": 12}


def test_vllm_steering_overhead(benchmark: Any) -> None:
    pytest.importorskip("vllm", reason="needs the vLLM environment (make vllm)")
    from steering_core.models import load_model
    from steering_core.vector import SteeringVector
    from steering_core.vllm.config import SteerTerm
    from steering_core.vllm.engine import SteeredLLM

    name = os.environ.get("BENCH_VLLM_MODEL", "smollm2")
    tokens = env_int("BENCH_VLLM_TOKENS", 32)
    rounds = env_int("BENCH_VLLM_ROUNDS", 5)
    lm = load_model(name)
    layer = LAYER.get(name, lm.num_layers // 2)
    engine = SteeredLLM(lm, max_model_len=512, max_num_seqs=8, enable_prefix_caching=False)
    try:
        gen = torch.Generator().manual_seed(0)
        for i in range(4):
            direction = torch.randn(lm.hidden_size, generator=gen)
            vector = SteeringVector(
                directions={layer: direction / direction.norm()}, hidden_size=lm.hidden_size, num_layers=lm.num_layers
            )
            engine.register(f"b{i}", vector)
        ids = [engine.encode(p) for p in PROMPTS]
        plans: dict[str, list[list[SteerTerm]]] = {
            "hooks_0": [[] for _ in PROMPTS],
            "vectors_1": [[SteerTerm("b0", 2.0, layer)] for _ in PROMPTS],
            "vectors_4": [[SteerTerm(f"b{i % 4}", 2.0, layer)] for i in range(len(PROMPTS))],
        }

        hook_share: dict[str, list[float]] = {name: [] for name in plans}

        def batch(name: str) -> Callable[[], Any]:
            prepared = [
                engine.request(i, engine.resolve(p), tokens, min_tokens=tokens)
                for i, p in zip(ids, plans[name], strict=True)
            ]

            def run() -> Any:
                done = engine.run(prepared)
                assert all(len(c.tokens) == tokens for c in done)
                stats = engine.llm.collective_rpc("steering_stats", args=(True,))[0]
                if stats["forward_seconds"] > 0:
                    hook_share[name].append(stats["hook_seconds"] / stats["forward_seconds"])
                return done

            return run

        stock_batch = batch("hooks_0")

        def stock() -> Any:
            engine.llm.collective_rpc("steering_hooks", args=(False,))
            try:
                return stock_batch()
            finally:
                engine.llm.collective_rpc("steering_hooks", args=(True,))

        runs: dict[str, Callable[[], Any]] = {"stock": stock, **{k: batch(k) for k in plans}}
        result = benchmark.pedantic(interleaved, args=(runs, rounds, "stock"), rounds=1, iterations=1)
    finally:
        engine.close()
    result.update(
        {
            "model": lm.name,
            "layer": layer,
            "batch": len(PROMPTS),
            "new_tokens_per_row": tokens,
            "tokens_per_second": {k: len(PROMPTS) * tokens / v["median"] for k, v in result["seconds"].items()},
            "hook_time_share": {k: summarize(v) for k, v in hook_share.items() if v},
            "machine": "shared 2-core CPU (other agents running): ratios within one run only",
        }
    )
    write_fragment(f"vllm_overhead-{name}", result)
    benchmark.extra_info.update({f"{k}/stock": round(v["median"], 4) for k, v in result["ratios"].items()})
    parts = [f"{k} {v['median']:.4f} (IQR {v['q1']:.4f}-{v['q3']:.4f})" for k, v in result["ratios"].items()]
    print(f"\nvLLM {lm.name}: ratio of batch time to stock vLLM: " + "; ".join(parts))
    shares = [f"{k} {v['median']:.4%}" for k, v in result["hook_time_share"].items()]
    print("time inside the steering hooks, share of forward time: " + "; ".join(shares))
