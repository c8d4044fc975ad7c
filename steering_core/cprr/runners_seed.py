"""Runners of the seed's C-1..C-9 with the seed's meaning (the seed's experiments 01, 02, 03, 05).

Shared definitions (every answer greedy, chat-templated, at most ``protocol.max_new_tokens`` new
tokens, over the protocol's prompts; the terse vector is the raw seed-style vector read with
``params.extraction``):

* *seed-equivalent alpha*: the seed steered with a fixed raw ``alpha = 2.0`` at every layer it
  compared. Its residual norms count the attention sink, so its "8% of the residual" does not
  transfer; we take the alpha at which the terse vector at ``params.seed_alpha.layer`` (L12, the
  middle of the mapped sweet spot) has perturbation ratio ``params.seed_alpha.ratio`` (0.3, the
  project's calibrated effective strength), ``alpha* = 0.3 * median_12 / ||v_12||``, and use it
  *fixed* at every layer, as the seed did. The seed's ``alpha = 1.0`` is ``alpha* / 2``.
* words: mean :func:`steering_core.text.word_count`; effect: ``1 - words_steered / words_base``;
  word change: ``|1 - words_steered / words_base|``; degenerate: :func:`steering_core.text.is_degenerate`.
* topic cosine, markdown density, cross-entropy ratio: :mod:`steering_core.cprr.seed_metrics`
  (the seed's definitions).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations, pairwise
from typing import Any

from steering_core.cprr.runners import RunContext, runner
from steering_core.cprr.runners_behaviour import prompted_answers
from steering_core.cprr.runners_geometry import extraction
from steering_core.cprr.runners_layers import effect, mean_words, n_degenerate
from steering_core.cprr.seed_metrics import cross_entropy_ratio, markdown_density, mean_topic_cosine
from steering_core.cprr.stats import cosine
from steering_core.layers import model_device
from steering_core.prompts import encode


def seed_alpha(ctx: RunContext, protocol: dict[str, Any], vector: Any, prompts: Sequence[str]) -> float:
    """The seed-equivalent of the seed's raw ``alpha = 2.0`` (see the module docstring)."""
    spec = protocol["params"]["seed_alpha"]
    (layer,) = ctx.check_layers([int(spec["layer"])])
    median = next(n.median_norm for n in ctx.residual_norms(prompts) if n.layer == layer)
    return float(spec["ratio"]) * float(median) / float(vector.norm(layer))


def _setup(ctx: RunContext, protocol: dict[str, Any]) -> tuple[list[str], Any, float, list[str]]:
    prompts = ctx.prompts(protocol)
    vector = ctx.vector(str(protocol["styles"][0]), **extraction(protocol))
    alpha = seed_alpha(ctx, protocol, vector, prompts)
    baseline = ctx.generate(prompts, int(protocol["max_new_tokens"]))
    return prompts, vector, alpha, baseline


def _layer_scores(
    ctx: RunContext, protocol: dict[str, Any], layers: Sequence[int], with_ce: bool = False
) -> tuple[dict[int, dict[str, float]], float, list[str]]:
    """Per steered layer: words, effect, word change, topic cosine, markdown density (and CE ratio)."""
    prompts, vector, alpha, baseline = _setup(ctx, protocol)
    base_words = mean_words(baseline)
    scores: dict[int, dict[str, float]] = {}
    for layer in ctx.check_layers(list(layers)):
        answers = ctx.steered(vector, alpha, layer, prompts, int(protocol["max_new_tokens"]))
        words = mean_words(answers)
        row = {
            "words": words,
            "effect": effect(base_words, words),
            "word_change": _word_change(words, base_words),
            "topic": mean_topic_cosine(answers, baseline),
            "markdown": sum(markdown_density(a) for a in answers) / len(answers),
            "degenerate": float(n_degenerate(answers)),
        }
        if with_ce:
            row["ce_ratio"] = cross_entropy_ratio(ctx.model, ctx.tokenizer, answers, baseline)
        scores[layer] = row
    return scores, alpha, baseline


def _word_change(words: float, base_words: float) -> float:
    """``|1 - words / base_words|`` (0.0 when the baseline is empty)."""
    return abs(1.0 - words / base_words) if base_words > 0 else 0.0


def _band_mean(scores: dict[int, dict[str, float]], layers: Sequence[int], key: str) -> float:
    return sum(scores[layer][key] for layer in layers) / len(layers)


def _per_layer(scores: dict[int, dict[str, float]], key: str) -> dict[str, float]:
    return {str(layer): row[key] for layer, row in scores.items()}


def _context(scores: dict[int, dict[str, float]], alpha: float, baseline: list[str]) -> dict[str, Any]:
    keys = sorted(next(iter(scores.values())))
    out: dict[str, Any] = {"alpha": alpha, "baseline_words": mean_words(baseline)}
    out["baseline_markdown"] = sum(markdown_density(a) for a in baseline) / len(baseline)
    for key in keys:
        out[f"{key}_per_layer"] = _per_layer(scores, key)
    return out


@runner("C-1", fast=False)
def early_layers_drift(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """Mean topic cosine with the baseline when steering at the seed's early layers (mapped)."""
    layers = ctx.check_layers(protocol["layers"])
    scores, alpha, baseline = _layer_scores(ctx, protocol, layers)
    return {
        "topic_cosine_band": _band_mean(scores, layers, "topic"),
        "effect_band": _band_mean(scores, layers, "effect"),
        **_context(scores, alpha, baseline),
    }


@runner("C-2", fast=False)
def sweet_spot(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """Word reduction and topic cosine per layer band; the sweet band's margin over every other band.

    A band's score is its mean effect when its mean topic cosine exceeds ``params.topic_min``
    (the answer stays on topic), else 0; ``sweet_margin`` = score(sweet) - max(score(other bands)).
    """
    bands = {name: ctx.check_layers(list(layers)) for name, layers in protocol["params"]["bands"].items()}
    all_layers = sorted({layer for layers in bands.values() for layer in layers})
    scores, alpha, baseline = _layer_scores(ctx, protocol, all_layers)
    topic_min = float(protocol["params"]["topic_min"])
    band_effect = {name: _band_mean(scores, layers, "effect") for name, layers in bands.items()}
    band_topic = {name: _band_mean(scores, layers, "topic") for name, layers in bands.items()}
    band_score = {name: band_effect[name] if band_topic[name] > topic_min else 0.0 for name in bands}
    others = [band_score[name] for name in bands if name != "sweet"]
    return {
        "effect_sweet": band_effect["sweet"],
        "topic_sweet": band_topic["sweet"],
        "sweet_margin": band_score["sweet"] - max(others),
        "band_effect": band_effect,
        "band_topic": band_topic,
        "band_score": band_score,
        **_context(scores, alpha, baseline),
    }


@runner("C-3", fast=False)
def formatting_band(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """Word change and markdown-density ratio (add-one smoothed) over the seed's output-preparation band."""
    layers = ctx.check_layers(protocol["layers"])
    scores, alpha, baseline = _layer_scores(ctx, protocol, layers)
    base_md = sum(markdown_density(a) for a in baseline) / len(baseline)
    steered_md = _band_mean(scores, layers, "markdown")
    return {
        "word_change_band": _word_change(_band_mean(scores, layers, "words"), mean_words(baseline)),
        "markdown_ratio_band": (steered_md + 1.0) / (base_md + 1.0),
        **_context(scores, alpha, baseline),
    }


@runner("C-4", fast=False)
def distortion_band(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """Cross-entropy ratio (the seed's "perplexity ratio") and word change over the seed's last band."""
    layers = ctx.check_layers(protocol["layers"])
    scores, alpha, baseline = _layer_scores(ctx, protocol, layers, with_ce=True)
    return {
        "ce_ratio_band": _band_mean(scores, layers, "ce_ratio"),
        "word_change_band": _word_change(_band_mean(scores, layers, "words"), mean_words(baseline)),
        **_context(scores, alpha, baseline),
    }


@runner("C-5", fast=True)
def norms_monotone(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """The seed's residual norm per layer (mean over every position, attention sink included) and its steps.

    ``mean_norm_all_positions[l]`` = mean over prompts of the mean L2 norm over every real
    position (first token included, as the seed measured) of layer ``l``'s output; decreases
    between adjacent layers; growth = last / first - 1. The median over non-first positions is
    recorded for comparison.
    """
    import torch

    # deferred: imports deal, icontract only when this runs, not at module import
    from steering_core.extract import capture_layers

    layers = ctx.check_layers(protocol["layers"])
    prompts = ctx.prompts(protocol)
    sums = torch.zeros(len(layers), dtype=torch.float64)
    for prompt in prompts:
        batch = encode(ctx.tokenizer, [prompt], chat=True, device=model_device(ctx.model))
        with torch.no_grad(), capture_layers(ctx.model, layers) as captured:
            ctx.model(input_ids=batch.input_ids, attention_mask=batch.attention_mask, use_cache=False)
        for i, layer in enumerate(layers):
            sums[i] += float(torch.linalg.vector_norm(captured[layer][0].to(torch.float64), dim=-1).mean())
    means = (sums / len(prompts)).tolist()
    steps = [b - a for a, b in pairwise(means)]
    medians = [n.median_norm for n in ctx.residual_norms(prompts) if n.layer in layers]
    median_steps = [b - a for a, b in pairwise(medians)]
    return {
        "n_decreases": sum(s < 0 for s in steps),
        "growth": means[-1] / means[0] - 1.0,
        "largest_decrease": max([0.0, *(-s for s in steps)]),
        "mean_norm_all_positions": means,
        "median_norm_non_first": medians,
        "median_n_decreases": sum(s < 0 for s in median_steps),
        "median_growth": medians[-1] / medians[0] - 1.0,
    }


@runner("C-6", fast=False)
def multi_vs_single(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """The seed's composite score (1000 / words * topic / CE ratio) of two layers at alpha*/2 vs one at alpha*."""
    params = protocol["params"]
    (single,) = ctx.check_layers([int(params["single"])])
    multi = ctx.check_layers(list(params["multi"]))
    prompts, vector, alpha, baseline = _setup(ctx, protocol)
    tokens = int(protocol["max_new_tokens"])
    out: dict[str, Any] = {"alpha": alpha, "baseline_words": mean_words(baseline)}
    score: dict[str, float] = {}
    for name, layers, a in (("single", [single], alpha), ("multi", multi, alpha * float(params["multi_alpha_factor"]))):
        answers = ctx.steered(vector, a, layers, prompts, tokens)
        words, topic = mean_words(answers), mean_topic_cosine(answers, baseline)
        ce = cross_entropy_ratio(ctx.model, ctx.tokenizer, answers, baseline)
        score[name] = 1000.0 / max(words, 1.0) * topic / ce if ce > 0 else 0.0
        out.update({f"{name}_words": words, f"{name}_topic": topic, f"{name}_ce_ratio": ce})
        out[f"{name}_score"] = score[name]
    out["score_ratio"] = score["multi"] / score["single"] if score["single"] > 0 else 0.0
    return out


@runner("C-7", fast=True)
def verbosity_norm_peak(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """||verbose - terse|| per layer (the terse vector's norm), its peak and the peak over the early/late means."""
    params = protocol["params"]
    layers = ctx.check_layers(protocol["layers"])
    vector = ctx.vector(str(protocol["styles"][0]), **extraction(protocol))
    norms = {layer: vector.norm(layer) for layer in layers}
    peak = max(layers, key=lambda layer: (norms[layer], -layer))
    lo, hi = (int(x) for x in params["sweet"])
    early = [norms[x] for x in ctx.check_layers(list(params["early"]))]
    late = [norms[x] for x in ctx.check_layers(list(params["late"]))]
    return {
        "peak_in_sweet": int(lo <= peak <= hi),
        "peak_layer": peak,
        "peak_to_early": norms[peak] / (sum(early) / len(early)),
        "peak_to_late": norms[peak] / (sum(late) / len(late)),
        "sweet_max_to_late": max(norms[x] for x in range(lo, hi + 1)) / (sum(late) / len(late)),
        "norm": {str(k): v for k, v in norms.items()},
    }


@runner("C-8", fast=False)
def stable_layers_steer_cleanly(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """Direction stability and clean steering per layer; where clean steering happens; late-layer collapse.

    stability_l = mean pairwise cosine of the per-pair terse deltas (``params.probe_pairs``) at l;
    clean_l = effect >= params.clean_effect, no degenerate answer and topic cosine > params.topic_min.
    """
    params = protocol["params"]
    layers = ctx.check_layers(protocol["layers"])
    recipe = extraction(protocol)
    deltas = [ctx.vector([(str(p), str(n))], **recipe) for p, n in params["probe_pairs"]]
    stability = {
        layer: sum(cosine(a[layer], b[layer]) for a, b in combinations(deltas, 2))
        / (len(deltas) * (len(deltas) - 1) / 2)
        for layer in layers
    }
    scores, alpha, baseline = _layer_scores(ctx, protocol, layers)
    lo, hi = (int(x) for x in params["sweet"])
    late = ctx.check_layers(list(params["late"]))
    clean = {
        layer: scores[layer]["effect"] >= float(params["clean_effect"])
        and scores[layer]["degenerate"] == 0
        and scores[layer]["topic"] > float(params["topic_min"])
        for layer in layers
    }
    n_prompts = len(baseline)
    norms = {n.layer: n.median_norm for n in ctx.residual_norms(ctx.prompt_cache(protocol))}
    vector = ctx.vector(str(protocol["styles"][0]), **recipe)
    return {
        "n_clean": sum(clean.values()),
        "clean_unstable": sum(1 for x in layers if clean[x] and stability[x] <= float(params["stable"])),
        "clean_outside_sweet": sum(1 for x in layers if clean[x] and not lo <= x <= hi),
        "late_degenerate_fraction": sum(scores[x]["degenerate"] for x in late) / (n_prompts * len(late)),
        "stability": {str(k): v for k, v in stability.items()},
        "clean": {str(k): int(v) for k, v in clean.items()},
        "snr_median": {str(x): alpha * vector.norm(x) / norms[x] for x in layers},
        **_context(scores, alpha, baseline),
    }


@runner("C-9", fast=False)
def injection_matches_prompt(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """Injection at +-alpha* against the terse/verbose instruction written into the prompt, both poles."""
    params = protocol["params"]
    (layer,) = ctx.check_layers([int(params["layer"])])
    prompts = ctx.prompts(protocol)
    tokens = int(protocol["max_new_tokens"])
    vector = ctx.vector(str(protocol["styles"][0]), **extraction(protocol))
    alpha = seed_alpha(ctx, protocol, vector, prompts)
    out: dict[str, Any] = {"alpha": alpha}
    for pole, sign, name in (("+", 1.0, "terse"), ("-", -1.0, "verbose")):
        prompted = prompted_answers(ctx, protocol, prompts, pole)
        injected = ctx.steered(vector, sign * alpha, layer, prompts, tokens)
        counts = [len(a.split()) for a in injected]
        p_words, i_words = mean_words(prompted), mean_words(injected)
        out[f"{name}_ratio_dev"] = abs(i_words / p_words - 1.0) if p_words > 0 else 1e6
        out[f"{name}_topic"] = mean_topic_cosine(injected, prompted)
        out[f"{name}_prompted_words"] = p_words
        out[f"{name}_injected_words"] = i_words
        out[f"{name}_injected_min_words"] = min(counts)
        out[f"{name}_injected_max_words"] = max(counts)
    return out
