"""Runners that generate text (``fast=False``): layer roles, collapse thresholds, multi-layer steering.

Shared definitions (every answer greedy, chat-templated, at most ``protocol.max_new_tokens`` new
tokens, over the protocol's prompts):

* words: mean :func:`steering_core.text.word_count` per answer; degenerate: the number of
  answers :func:`steering_core.text.is_degenerate` flags.
* effect of a steered condition: ``1 - words_steered / words_baseline`` (the relative drop in
  length; the terse vector shortens answers, so larger is stronger).
* ratio-matched alpha at layer ``l``: ``alpha = ratio * median_l / ||v_l||`` with ``median_l`` the
  median residual norm (first token excluded) over the protocol's prompts, so layers are
  compared at the same perturbation ratio ``|alpha| ||v|| / ||h||``.
* collapse ratio of a layer: the smallest ratio of ``params.ratios`` at which at least half of
  the answers are degenerate (:func:`steering_core.sweep.classify`); when none collapses, the
  sentinel ``2 * max(params.ratios)`` ("beyond the grid").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from steering_core.cprr.runners import RunContext, runner
from steering_core.cprr.runners_geometry import extraction
from steering_core.cprr.stats import cosine, spearman, zscores
from steering_core.text import is_degenerate, word_count


def mean_words(answers: Sequence[str]) -> float:
    """Mean word count of ``answers``."""
    return sum(word_count(a) for a in answers) / len(answers)


def n_degenerate(answers: Sequence[str]) -> int:
    """How many answers are degenerate."""
    return sum(is_degenerate(a) for a in answers)


def effect(baseline_words: float, steered_words: float) -> float:
    """``1 - steered / baseline`` (0.0 when the baseline is empty)."""
    return 1.0 - steered_words / baseline_words if baseline_words > 0 else 0.0


def _setup(ctx: RunContext, protocol: dict[str, Any]) -> tuple[list[str], Any, dict[int, float], list[str]]:
    prompts = ctx.prompts(protocol)
    vector = ctx.vector(str(protocol["styles"][0]), **extraction(protocol))
    medians = {n.layer: n.median_norm for n in ctx.residual_norms(prompts)}
    baseline = ctx.generate(prompts, int(protocol["max_new_tokens"]))
    return prompts, vector, medians, baseline


def _matched(
    ctx: RunContext, protocol: dict[str, Any], vector: Any, medians: dict[int, float], layer: int, ratio: float
) -> list[str]:
    """Answers steered at ``layer`` with the alpha that gives perturbation ratio ``ratio``."""
    alpha = ratio * medians[layer] / vector.norm(layer)
    prompts = ctx.prompt_cache(protocol)
    return ctx.steered(vector, alpha, layer, prompts, int(protocol["max_new_tokens"]))


def _collapse_ratio(
    ctx: RunContext, protocol: dict[str, Any], vector: Any, medians: dict[int, float], baseline: list[str], layer: int
) -> tuple[float, list[int]]:
    # deferred: imports deal, icontract only when this runs, not at module import
    from steering_core.sweep import classify

    grid = sorted(float(r) for r in protocol["params"]["ratios"])
    degenerate: list[int] = []
    found: float | None = None
    for ratio in grid:
        answers = _matched(ctx, protocol, vector, medians, layer, ratio)
        phase, n_deg, _ = classify(baseline, answers)
        degenerate.append(n_deg)
        if phase == "collapse" and found is None:
            found = ratio
            break
    return (found if found is not None else 2 * grid[-1]), degenerate


@runner("H-LR-1", fast=False)
def early_layers_weak(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """Effect at an early and a middle layer at the same perturbation ratio."""
    params = protocol["params"]
    early, middle = ctx.check_layers([params["early"], params["middle"]])
    _, vector, medians, baseline = _setup(ctx, protocol)
    base_words = mean_words(baseline)
    ratio = float(params["ratio"])
    early_answers = _matched(ctx, protocol, vector, medians, early, ratio)
    middle_answers = _matched(ctx, protocol, vector, medians, middle, ratio)
    e_early = effect(base_words, mean_words(early_answers))
    e_middle = effect(base_words, mean_words(middle_answers))
    return {
        "baseline_mean_words": base_words,
        "effect_early": e_early,
        "effect_middle": e_middle,
        "relative_early_effect": e_early / e_middle if e_middle > 0 else 0.0,
        "degenerate_early": n_degenerate(early_answers),
        "degenerate_middle": n_degenerate(middle_answers),
    }


@runner("H-LR-3", fast=False)
def late_layers_collapse_first(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """Collapse ratio of a late and a middle layer; their quotient."""
    params = protocol["params"]
    middle, late = ctx.check_layers([params["middle"], params["late"]])
    _, vector, medians, baseline = _setup(ctx, protocol)
    c_middle, d_middle = _collapse_ratio(ctx, protocol, vector, medians, baseline, middle)
    c_late, d_late = _collapse_ratio(ctx, protocol, vector, medians, baseline, late)
    return {
        "collapse_ratio_middle": c_middle,
        "collapse_ratio_late": c_late,
        "late_to_middle_collapse": c_late / c_middle,
        "degenerate_middle": d_middle,
        "degenerate_late": d_late,
    }


@runner("H-LR-4", fast=False)
def collapse_threshold(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """Collapse ratio of the terse vector at the protocol's layer."""
    (layer,) = ctx.check_layers(protocol["layers"])
    _, vector, medians, baseline = _setup(ctx, protocol)
    ratio, degenerate = _collapse_ratio(ctx, protocol, vector, medians, baseline, layer)
    return {"collapse_ratio": ratio, "degenerate_per_ratio": degenerate, "baseline_mean_words": mean_words(baseline)}


@runner("H-ML-1", fast=False)
def multi_vs_single_layer(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """One layer at alpha against the same total step norm split equally over ``protocol.layers``."""
    import torch

    # deferred: imports deal, icontract only when this runs, not at module import
    from steering_core.vector import SteeringVector

    params = protocol["params"]
    layers = ctx.check_layers(protocol["layers"])
    (single,) = ctx.check_layers([params["single"]])
    alpha = float(params["alpha"])
    prompts, vector, _, baseline = _setup(ctx, protocol)
    mnt = int(protocol["max_new_tokens"])
    single_answers = ctx.steered(vector, alpha, single, prompts, mnt)
    target = vector.norm(single) / len(layers)  # each layer's step gets 1/k of the single step norm
    split = SteeringVector(
        directions={layer: (vector[layer] * (target / vector.norm(layer))).to(torch.float32) for layer in layers},
        hidden_size=vector.hidden_size,
        num_layers=vector.num_layers,
        model_name=vector.model_name,
        style=vector.style,
    )
    multi_answers = ctx.steered(split, alpha, layers, prompts, mnt)
    base_words = mean_words(baseline)
    e_single = effect(base_words, mean_words(single_answers))
    e_multi = effect(base_words, mean_words(multi_answers))
    d_single, d_multi = n_degenerate(single_answers), n_degenerate(multi_answers)
    return {
        "baseline_mean_words": base_words,
        "single_mean_words": mean_words(single_answers),
        "multi_mean_words": mean_words(multi_answers),
        "effect_single": e_single,
        "effect_multi": e_multi,
        "effect_ratio": e_multi / e_single if e_single > 0 else 0.0,
        "degenerate_single": d_single,
        "degenerate_multi": d_multi,
        "degenerate_reduction": d_single - d_multi,
    }


def _layer_effects(
    ctx: RunContext, protocol: dict[str, Any]
) -> tuple[list[int], dict[int, float], Any, dict[str, Any]]:
    layers = ctx.check_layers(protocol["layers"])
    _, vector, medians, baseline = _setup(ctx, protocol)
    base_words = mean_words(baseline)
    ratio = float(protocol["params"]["ratio"])
    effects: dict[int, float] = {}
    degenerate: dict[str, float] = {}
    for layer in layers:
        answers = _matched(ctx, protocol, vector, medians, layer, ratio)
        effects[layer] = effect(base_words, mean_words(answers))
        degenerate[str(layer)] = n_degenerate(answers)
    extra = {"baseline_mean_words": base_words, "degenerate": degenerate, "medians": medians}
    return layers, effects, vector, extra


@runner("H-LR-5", fast=False)
def verbosity_peak(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """Ratio-matched terse effect per layer; the layer where it peaks."""
    layers, effects, _, extra = _layer_effects(ctx, protocol)
    peak = max(layers, key=lambda layer: (effects[layer], -layer))
    return {
        "peak_layer": peak,
        "peak_effect": effects[peak],
        "effect": {str(k): v for k, v in effects.items()},
        "baseline_mean_words": extra["baseline_mean_words"],
        "degenerate": extra["degenerate"],
    }


@runner("H-ST-1", fast=False)
def steerability_score(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """Spearman rho between the per-layer effect and z(stability) + z(SNR)."""
    layers, effects, vector, extra = _layer_effects(ctx, protocol)
    norms = {n.layer: n for n in ctx.residual_norms(ctx.prompt_cache(protocol))}
    last = ctx.num_layers - 1
    snr = [vector.norm(layer) / norms[layer].spread for layer in layers]
    stability = [cosine(vector[layer], vector[layer + 1 if layer < last else layer - 1]) for layer in layers]
    score = [a + b for a, b in zip(zscores(snr), zscores(stability), strict=True)]
    values = [effects[layer] for layer in layers]
    return {
        "spearman_rho": spearman(score, values),
        "spearman_snr_only": spearman(snr, values),
        "spearman_stability_only": spearman(stability, values),
        "effect": {str(k): v for k, v in effects.items()},
        "snr": snr,
        "stability": stability,
        "baseline_mean_words": extra["baseline_mean_words"],
    }
