"""Suite 1 -- hook overhead: one greedy generation unsteered, steered by our hook, steered folded.

The same fixed prompt and exactly ``BENCH_TOKENS`` new tokens (``min_new_tokens``), on tiny
random models and on the embedded model, measured interleaved in one run (unsteered, hook,
folded, bare hook, unsteered, ...). Reported as ratios to unsteered (median and IQR over
rounds). "bare hook" is a plain ``register_forward_hook`` adding the same delta: the floor any
hook-based steering pays. Knobs: ``BENCH_ROUNDS`` (tiny, default 15), ``BENCH_ROUNDS_REAL``
(embedded, default 10), ``BENCH_TOKENS`` (default 48).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import pytest
import torch

from benchmarks.common import bare_hook, env_int, greedy, interleaved, steered, write_fragment
from steering_core.layers import locate
from tests.conftest import make_tiny_model

TOKENS = env_int("BENCH_TOKENS", 48)
ALPHA = 0.5


def _folded_status(model: Any, vector: torch.Tensor, layer: int) -> str | None:
    """None when folded mode works here, else why not."""
    try:
        with steered(model, vector, ALPHA, layer, "folded"):
            pass
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def measure(
    model: Any, ids: torch.Tensor, mask: torch.Tensor, vector: torch.Tensor, layer: int, rounds: int, pad: int
) -> dict[str, Any]:
    """Interleaved unsteered / hook / folded / bare-hook generations; ratios to unsteered."""
    _, blocks = locate(model)
    delta = (ALPHA * vector).to(next(model.parameters()).dtype)

    def body() -> Any:
        return greedy(model, ids, mask, TOKENS, pad)

    def run_with(factory: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with factory():
                return body()

        return run

    def bare() -> Any:
        handle = bare_hook(blocks, layer, delta)
        try:
            return body()
        finally:
            handle.remove()

    runs: dict[str, Callable[[], Any]] = {
        "unsteered": run_with(nullcontext),
        "hook": run_with(lambda: steered(model, vector, ALPHA, layer, "hook")),
    }
    folded_reason = _folded_status(model, vector, layer)
    if folded_reason is None:
        runs["folded"] = run_with(lambda: steered(model, vector, ALPHA, layer, "folded"))
    runs["bare_hook"] = bare
    result = interleaved(runs, rounds, "unsteered")
    result["tokens"] = TOKENS
    result["layer"] = layer
    result["alpha"] = ALPHA
    result["prompt_tokens"] = int(ids.shape[1])
    if folded_reason is not None:
        result["folded_unavailable"] = folded_reason
    return result


def _print(name: str, result: dict[str, Any]) -> None:
    parts = [f"{k} {v['median']:.4f} (IQR {v['q1']:.4f}-{v['q3']:.4f})" for k, v in result["ratios"].items()]
    print(f"\n{name}: ratio to unsteered: " + "; ".join(parts))


@pytest.mark.parametrize("arch", ["qwen3", "llama"])
def test_hook_overhead_tiny(benchmark: Any, arch: str) -> None:
    model = make_tiny_model(arch)
    ids = torch.randint(5, 1000, (1, 16), generator=torch.Generator().manual_seed(0))
    vector = torch.randn(64, generator=torch.Generator().manual_seed(1))
    rounds = env_int("BENCH_ROUNDS", 15)
    result = benchmark.pedantic(
        measure, args=(model, ids, torch.ones_like(ids), vector, 2, rounds, 0), rounds=1, iterations=1
    )
    result["model"] = f"tiny-{arch}"
    write_fragment(f"hook_overhead-tiny-{arch}", result)
    benchmark.extra_info.update({f"{k}/unsteered": round(v["median"], 4) for k, v in result["ratios"].items()})
    _print(f"tiny {arch}", result)


def test_hook_overhead_embedded(benchmark: Any, embedded: Any) -> None:
    from steering_core.extract import extract
    from steering_core.prompts import encode, pad_token_id

    layer = 12
    vector = extract(embedded, style="terse", layers=[layer])[layer]
    batch = encode(embedded.tokenizer, ["Explain what a mutex is."])
    rounds = env_int("BENCH_ROUNDS_REAL", 10)
    pad = pad_token_id(embedded.tokenizer)
    args = (embedded.model, batch.input_ids, batch.attention_mask, vector, layer, rounds, pad)
    result = benchmark.pedantic(measure, args=args, rounds=1, iterations=1)
    result["model"] = embedded.name
    write_fragment("hook_overhead-embedded", result)
    benchmark.extra_info.update({f"{k}/unsteered": round(v["median"], 4) for k, v in result["ratios"].items()})
    _print(embedded.name, result)
