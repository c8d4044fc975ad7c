"""Cheap runners (no text generation): residual norms, style-vector geometry, SNR by layer.

Every vector here is a raw seed-style vector (``positive - negative`` of the style's contrast
pair) read with the protocol's ``params.extraction`` recipe (default: last token of the
chat-templated instruction, mean over pairs), at the protocol's layers.
"""

from __future__ import annotations

from itertools import combinations, pairwise
from typing import Any

from steering_core.cprr.runners import RunContext, runner
from steering_core.cprr.stats import cosine, pearson, spearman
from steering_core.styles import as_style

DEFAULT_EXTRACTION: dict[str, Any] = {"position": "last", "chat": True, "aggregator": "mean"}


def extraction(protocol: dict[str, Any]) -> dict[str, Any]:
    """The extraction recipe of a protocol (``params.extraction`` over the defaults)."""
    return {**DEFAULT_EXTRACTION, **protocol["params"].get("extraction", {})}


def style_cosines(ctx: RunContext, styles: list[str], layer: int, recipe: dict[str, Any]) -> dict[str, float]:
    """``{"a|b": cos(v_a, v_b)}`` for every pair of styles at ``layer``."""
    vectors = {s: ctx.vector(s, **recipe)[layer] for s in styles}
    return {f"{a}|{b}": cosine(vectors[a], vectors[b]) for a, b in combinations(styles, 2)}


@runner("H-SV-1", fast=True)
def style_axes_overlap(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """Pairwise cosines of the seed style vectors at the protocol's (single) layer."""
    (layer,) = ctx.check_layers(protocol["layers"])
    cos = style_cosines(ctx, list(protocol["styles"]), layer, extraction(protocol))
    absolute = [abs(c) for c in cos.values()]
    return {
        "mean_abs_cos": sum(absolute) / len(absolute),
        "max_abs_cos": max(absolute),
        "min_abs_cos": min(absolute),
        "cos": cos,
    }


@runner("H-RN-1", fast=True)
def monotone_residual_norms(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """Median residual norm (first token excluded) per layer; monotonicity over ``params.window``."""
    layers = ctx.check_layers(protocol["layers"])
    lo, hi = (int(x) for x in protocol["params"]["window"])
    norms = {n.layer: n for n in ctx.residual_norms(ctx.prompts(protocol))}
    medians = [norms[layer].median_norm for layer in layers]
    window = [layer for layer in layers if lo <= layer <= hi]
    values = [norms[layer].median_norm for layer in window]
    steps = [b - a for a, b in pairwise(values)]
    return {
        "spearman_rho": spearman([float(x) for x in window], values),
        "fraction_increasing": sum(s > 0 for s in steps) / len(steps),
        "n_decreases": sum(s < 0 for s in steps),
        "largest_decrease": max([0.0, *(-s for s in steps)]),
        "median_norm": medians,
        "first_token_norm": [norms[layer].first_token_norm for layer in layers],
    }


@runner("H-LR-2", fast=True)
def snr_peaks_in_middle(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """Per style, the layer where SNR = ||v_l|| / spread_l peaks; share of peaks inside ``params.middle``."""
    layers = ctx.check_layers(protocol["layers"])
    lo, hi = (int(x) for x in protocol["params"]["middle"])
    norms = {n.layer: n for n in ctx.residual_norms(ctx.prompts(protocol))}
    recipe = extraction(protocol)
    peaks: dict[str, float] = {}
    for style in protocol["styles"]:
        vector = ctx.vector(style, **recipe)
        snr = {layer: vector.norm(layer) / norms[layer].spread for layer in layers}
        peaks[style] = float(max(layers, key=lambda layer: (snr[layer], -layer)))
    inside = sum(lo <= p <= hi for p in peaks.values())
    return {"share_peaks_in_middle": inside / len(peaks), "peak_layer": peaks}


@runner("H-GEO-1", fast=True)
def terse_formal_sign(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """cos(terse, formal) at the protocol's layer (with the other seed pairs for context)."""
    (layer,) = ctx.check_layers(protocol["layers"])
    cos = style_cosines(ctx, list(protocol["styles"]), layer, extraction(protocol))
    return {"cos_terse_formal": cos["terse|formal"], "cos": cos}


@runner("H-GEO-2", fast=True)
def poles_anti_aligned(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """cos(positive - neutral, negative - neutral) per style at the layer; their mean."""
    (layer,) = ctx.check_layers(protocol["layers"])
    neutral = str(protocol["params"]["neutral"])
    recipe = extraction(protocol)
    cos: dict[str, float] = {}
    for style in protocol["styles"]:
        pair = as_style(style).pairs[0]
        up = ctx.vector([(pair.positive, neutral)], **recipe)[layer]
        down = ctx.vector([(pair.negative, neutral)], **recipe)[layer]
        cos[style] = cosine(up, down)
    return {"mean_pole_cos": sum(cos.values()) / len(cos), "max_pole_cos": max(cos.values()), "cos": cos}


@runner("H-GEO-3", fast=True)
def paraphrases_aligned(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """cos(paraphrased pair's vector, seed vector) per paraphrase at the layer; mean and minimum."""
    (layer,) = ctx.check_layers(protocol["layers"])
    recipe = extraction(protocol)
    cos: dict[str, float] = {}
    for style, pairs in protocol["params"]["paraphrases"].items():
        seed_vector = ctx.vector(style, **recipe)[layer]
        for index, (positive, negative) in enumerate(pairs):
            cos[f"{style}#{index + 1}"] = cosine(ctx.vector([(positive, negative)], **recipe)[layer], seed_vector)
    values = list(cos.values())
    return {"mean_paraphrase_cos": sum(values) / len(values), "min_paraphrase_cos": min(values), "cos": cos}


@runner("H-GEO-4", fast=True)
def geometry_stable_across_layers(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """Pearson r of the pairwise style cosines between adjacent protocol layers; minimum over pairs of layers."""
    layers = ctx.check_layers(protocol["layers"])
    styles = list(protocol["styles"])
    recipe = extraction(protocol)
    tables = {layer: style_cosines(ctx, styles, layer, recipe) for layer in layers}
    keys = list(tables[layers[0]])
    r: dict[str, float] = {}
    diffs: list[float] = []
    for a, b in pairwise(layers):
        x, y = [tables[a][k] for k in keys], [tables[b][k] for k in keys]
        r[f"{a}-{b}"] = pearson(x, y)
        diffs.extend(abs(p - q) for p, q in zip(x, y, strict=True))
    return {
        "min_adjacent_r": min(r.values()),
        "mean_abs_cos_change": sum(diffs) / len(diffs),
        "adjacent_r": r,
    }


@runner("H-PR-1", fast=True)
def ratio_scale_invariance(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """Largest relative change of the perturbation ratio when ||v|| and the residual norm are scaled together."""
    # deferred: imports deal, icontract only when this runs, not at module import
    from steering_core.ops import perturbation_ratio

    (layer,) = ctx.check_layers(protocol["layers"])
    median = {n.layer: n.median_norm for n in ctx.residual_norms(ctx.prompts(protocol))}[layer]
    vnorm = ctx.vector(str(protocol["styles"][0]), **extraction(protocol)).norm(layer)
    alpha = float(protocol["params"]["alpha"])
    reference = perturbation_ratio(alpha, vnorm, median)
    deviations = {
        f"{c:g}": abs(perturbation_ratio(alpha, c * vnorm, c * median) - reference) / reference
        for c in (float(x) for x in protocol["params"]["scales"])
    }
    return {"max_rel_deviation": max(deviations.values()), "ratio": reference, "rel_deviation": deviations}
