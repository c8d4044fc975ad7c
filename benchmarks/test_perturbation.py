"""Suite 5 -- perturbation-to-residual ratio over layers x alpha for every seed style.

On the embedded model: residual norms (median over positions, first token excluded:
:func:`steering_core.diagnose.residual_norms`) over the first ``BENCH_SWEEP_PROMPTS`` prompts
of the default prompt set, one vector per style (all requested layers in one pass), and an
:func:`steering_core.sweep.alpha_sweep` that classifies every (layer, alpha) cell as dead,
effective or collapse; per layer the phase boundaries (``thresholds()``) in alpha and in ratio.
Knobs (affordable defaults for 2 CPU cores): ``BENCH_SWEEP_LAYERS`` (6,12,18),
``BENCH_SWEEP_ALPHAS`` (0.1,0.25,0.5,1,2), ``BENCH_SWEEP_PROMPTS`` (4), ``BENCH_SWEEP_TOKENS``
(48), ``BENCH_SWEEP_STYLES`` (all four seed styles).
"""

from __future__ import annotations

from typing import Any

from benchmarks.common import env_floats, env_int, env_ints, env_strs, write_fragment
from steering_core.styles import style_names


def sweep_table(loaded: Any) -> dict[str, Any]:
    """Ratio table and phase boundaries for every style (JSON-ready)."""
    from steering_core.diagnose import residual_norms
    from steering_core.extract import extract
    from steering_core.prompt_sets import DEFAULT_SET, prompt_set, prompt_set_digest
    from steering_core.sweep import alpha_sweep

    layers = env_ints("BENCH_SWEEP_LAYERS", [6, 12, 18])
    alphas = env_floats("BENCH_SWEEP_ALPHAS", [0.1, 0.25, 0.5, 1.0, 2.0])
    prompts = prompt_set()[: env_int("BENCH_SWEEP_PROMPTS", 4)]
    tokens = env_int("BENCH_SWEEP_TOKENS", 48)
    norms = residual_norms(loaded, prompts, layers)
    styles: dict[str, Any] = {}
    for style in env_strs("BENCH_SWEEP_STYLES", style_names()):
        vector = extract(loaded, style=style, layers=layers)
        result = alpha_sweep(loaded, vector, layers, alphas, prompts, norms, tokens)
        ratio = {(c.layer, c.alpha): c.ratio for c in result.cells}
        thresholds = []
        for t in result.thresholds():
            row: dict[str, Any] = {"layer": t.layer}
            for key in ("dead_max", "effective_min", "effective_max", "collapse_min"):
                value = getattr(t, key)
                row[key] = value
                row[f"{key}_ratio"] = None if value is None else ratio[(t.layer, value)]
            thresholds.append(row)
        styles[style] = {
            "vector_norms": {str(k): v for k, v in vector.norms().items()},
            "baseline_mean_words": result.baseline_mean_words,
            "cells": [
                {
                    "layer": c.layer,
                    "alpha": c.alpha,
                    "ratio": c.ratio,
                    "phase": c.phase,
                    "mean_words": c.mean_words,
                    "n_degenerate": c.n_degenerate,
                    "n_identical": c.n_identical,
                }
                for c in result.cells
            ],
            "thresholds": thresholds,
        }
    return {
        "model": loaded.name,
        "prompt_set": DEFAULT_SET,
        "prompt_set_digest": prompt_set_digest(DEFAULT_SET),
        "n_prompts": len(prompts),
        "tokens": tokens,
        "layers": layers,
        "alphas": alphas,
        "residual_norms": [
            {"layer": n.layer, "median_norm": n.median_norm, "first_token_norm": n.first_token_norm} for n in norms
        ],
        "styles": styles,
    }


def test_perturbation_table(benchmark: Any, embedded: Any) -> None:
    result = benchmark.pedantic(sweep_table, args=(embedded,), rounds=1, iterations=1)
    write_fragment("perturbation-embedded", result)
    for style, data in result["styles"].items():
        cells = ", ".join(f"L{c['layer']} a={c['alpha']:g}: {c['ratio']:.3f} {c['phase']}" for c in data["cells"])
        print(f"\n{style}: {cells}")
