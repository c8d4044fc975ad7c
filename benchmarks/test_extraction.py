"""Suite 3 -- extraction: every layer from one batched pass versus one pass per layer.

On the embedded 24-layer model, the contrast pairs of all four seed styles (8 prompts) are
extracted for every layer (a) in one call of :func:`steering_core.extract.extract` (one batched
forward pass captures all layers) and (b) with one call per layer (``layers=[i]``, a full
forward pass each). Interleaved over ``BENCH_ROUNDS_EXTRACT`` rounds (default 3); reported as the
speed-up ``per_layer / all_layers`` (median, IQR) and the all-layer throughput in prompts per
second. The two results must be the same vectors (checked once).
"""

from __future__ import annotations

from typing import Any

from benchmarks.common import env_int, interleaved, write_fragment
from steering_core.styles import SEED_STYLES, make_style


def measure(loaded: Any, rounds: int) -> dict[str, Any]:
    """Interleaved all-layer versus per-layer extraction; speed-up and throughput."""
    from steering_core.extract import extract

    pairs = [pair for style in SEED_STYLES.values() for pair in style.pairs]
    style = make_style("all-seed-styles", pairs)
    n_layers = loaded.num_layers
    n_prompts = 2 * len(pairs)

    def all_layers() -> Any:
        return extract(loaded, style=style, batch_size=n_prompts)

    def per_layer() -> list[Any]:
        return [extract(loaded, style=style, layers=[i], batch_size=n_prompts) for i in range(n_layers)]

    one, many = all_layers(), per_layer()
    max_diff = max(float((one[i] - many[i][i]).abs().max()) for i in range(n_layers))
    result = interleaved({"all_layers": all_layers, "per_layer": per_layer}, rounds, "all_layers", warmup=0)
    scale = max(1.0, max(float(one[i].abs().max()) for i in range(n_layers)))
    result.update(
        {
            "n_layers": n_layers,
            "n_prompts": n_prompts,
            "speedup": result["ratios"]["per_layer"],  # time(per layer) / time(all layers), same round
            "prompts_per_second_all_layers": n_prompts / result["seconds"]["all_layers"]["median"],
            "prompts_per_second_per_layer": n_prompts / result["seconds"]["per_layer"]["median"],
            "max_abs_difference": max_diff,
            "same_vectors": max_diff <= 1e-4 * scale,
        }
    )
    return result


def test_extraction_all_vs_per_layer(benchmark: Any, embedded: Any) -> None:
    result = benchmark.pedantic(measure, args=(embedded, env_int("BENCH_ROUNDS_EXTRACT", 3)), rounds=1, iterations=1)
    result["model"] = embedded.name
    write_fragment("extraction-embedded", result)
    speedup = result["speedup"]
    benchmark.extra_info.update({"per_layer/all_layers": round(speedup["median"], 2)})
    print(
        f"\n{embedded.name}: per-layer passes / one pass = {speedup['median']:.1f}x "
        f"(IQR {speedup['q1']:.1f}-{speedup['q3']:.1f}); "
        f"{result['prompts_per_second_all_layers']:.1f} prompts/s (all layers, one pass); "
        f"same vectors: {result['same_vectors']}"
    )
