"""Runners of the seed's relational-geometry conjectures C-10..C-13 (WordNet, every layer; fast).

Each run performs the whole experiment of :mod:`steering_core.relational.experiment` with the
protocol's ``params.relational`` (pairs sampled from Debian's WordNet 3.0 with the protocol's
seed, one batched read of every word at every layer, 199 shuffled-pair permutations, 5-fold
probe) and judges the layers the protocol names (``protocol.layers``: the seed's band mapped to
this model's depth). Measured values: the rule's metrics at the top level, then every per-layer
series (``{layer: value}``) so the record holds the whole table.

Thresholds come from the seed's wording (``params.stable`` = 0.5: the seed's "stable direction,
cos > 0.5"; ``params.orthogonal`` = 0.3: its "orthogonal, cos < 0.3"; ``params.alpha`` = 0.01 for
the permutation test; ``params.probe`` = 0.8 for "a 3D relational subspace"; ``params.absent``
= 0.3 for C-13's "stability < 0.3").

Without WordNet installed the run stops with
:class:`~steering_core.relational.wordnet.WordNetMissingError`, which names ``make wordnet``.
"""

from __future__ import annotations

from typing import Any

from steering_core.cprr.runners import RunContext, runner
from steering_core.relational.experiment import ExperimentConfig, run_experiment


def _experiment(ctx: RunContext, protocol: dict[str, Any]) -> Any:
    config = ExperimentConfig.from_params(protocol["params"], int(protocol["seed"]))
    result = run_experiment(ctx.model, ctx.tokenizer, config, ctx.log)
    ctx.inputs.append(
        {
            "wordnet_sha256": result.wordnet_sha256,
            "template": config.template,
            "pairs": {r: [list(p) for p in s.pairs] for r, s in result.samples.items()},
        }
    )
    return result


def _series(values: list[float]) -> dict[str, float]:
    return {str(layer): value for layer, value in enumerate(values)}


def _context(result: Any) -> dict[str, Any]:
    """Every per-layer series and the sample sizes (context for the record; not judged)."""
    out: dict[str, Any] = {}
    for relation in result.consistency:
        out[f"consistency_{relation}"] = _series(result.consistency[relation])
        out[f"shuffled_{relation}"] = _series(result.shuffled[relation])
        out[f"p_{relation}"] = _series(result.p_value[relation])
        out[f"n_pairs_{relation}"] = len(result.samples[relation].pairs)
        out[f"n_single_token_{relation}"] = result.samples[relation].n_single_token
    for key, values in result.direction_cos.items():
        out[f"cos_{key.replace('|', '_')}"] = _series(values)
    out["probe_accuracy"] = _series(result.probe)
    out["probe_accuracy_shuffled"] = _series(result.probe_shuffled)
    return out


def _band(ctx: RunContext, protocol: dict[str, Any]) -> list[int]:
    return ctx.check_layers(protocol["layers"])


def _stable_and_significant(result: Any, relation: str, band: list[int]) -> dict[str, float]:
    return {
        f"{relation}_consistency_band_min": min(result.consistency[relation][layer] for layer in band),
        f"{relation}_p_band_max": max(result.p_value[relation][layer] for layer in band),
        f"{relation}_excess_band_min": min(result.excess(relation)[layer] for layer in band),
    }


@runner("C-10", fast=True)
def hypernym_direction_stable(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """Hypernym offset consistency and its permutation p-value over the band."""
    band = _band(ctx, protocol)
    result = _experiment(ctx, protocol)
    return {**_stable_and_significant(result, "hypernym", band), **_context(result)}


@runner("C-11", fast=True)
def hypernym_antonym_orthogonal(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """|cos| of the mean hypernym and antonym offsets over the band, with both directions' stability."""
    band = _band(ctx, protocol)
    result = _experiment(ctx, protocol)
    cos = result.direction_cos["hypernym|antonym"]
    measured: dict[str, Any] = {"abs_cos_hypernym_antonym_band_max": max(abs(cos[layer]) for layer in band)}
    for relation in ("hypernym", "antonym"):
        measured.update(_stable_and_significant(result, relation, band))
    return {**measured, **_context(result)}


@runner("C-12", fast=True)
def meronym_third_direction(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """|cos| of the mean meronym offset with hypernym and antonym over the band; stability; probe."""
    band = _band(ctx, protocol)
    result = _experiment(ctx, protocol)
    with_hyp = result.direction_cos["hypernym|meronym"]
    with_ant = result.direction_cos["antonym|meronym"]
    measured: dict[str, Any] = {
        "abs_cos_meronym_others_band_max": max(max(abs(with_hyp[layer]), abs(with_ant[layer])) for layer in band),
        "probe_band_min": min(result.probe[layer] for layer in band),
        "probe_shuffled_band_max": max(result.probe_shuffled[layer] for layer in band),
    }
    measured.update(_stable_and_significant(result, "meronym", band))
    return {**measured, **_context(result)}


@runner("C-13", fast=True)
def no_structure_early(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """Largest offset consistency of any relation over the early band (the seed's rule), and context."""
    band = _band(ctx, protocol)
    result = _experiment(ctx, protocol)
    relations = list(result.consistency)
    return {
        "consistency_early_max": max(result.consistency[r][layer] for r in relations for layer in band),
        "p_early_min": min(result.p_value[r][layer] for r in relations for layer in band),
        "excess_early_max": max(result.excess(r)[layer] for r in relations for layer in band),
        "probe_early_max": max(result.probe[layer] for layer in band),
        **_context(result),
    }
