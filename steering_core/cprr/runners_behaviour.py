"""Runners for behaviour: injection versus prompt-level control, H-IP-1 (reach; registered as C-9
until the seed's C-9 took its id) and C-14 (parity asymmetry); and the directed style contracts
H-SA-1..H-SA-8 (:mod:`steering_core.cprr.style_axes`, :func:`style_axis_contract`).

Both compare, on the protocol's prompts (greedy, chat template, ``max_new_tokens``), the mean
word count of

* the unsteered baseline;
* the prompted answers: ``params.prompt_template`` with the style's positive instruction
  (``prompted_+``) or negative instruction (``prompted_-``), unsteered;
* answers steered with ``alpha * v`` at ``params.layer`` (raw style vector, the protocol's
  extraction recipe).

H-IP-1 steers at the alpha of perturbation ratio ``params.ratio`` (``alpha = ratio * median / ||v||``,
median residual norm at the layer over the same prompts, first token excluded).
C-14 steers at ``+|alpha|`` and ``-|alpha|`` for each alpha of the protocol.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from steering_core.behaviour.recipe import load_recipes
from steering_core.behaviour.run import RunConfig, run_behaviour
from steering_core.behaviour.session import Session
from steering_core.certify.fingerprint import config_fingerprint
from steering_core.cprr import rules, store, style_axes
from steering_core.cprr.errors import MeasurementError, ProtocolDataError
from steering_core.cprr.evidence import normalize_measured
from steering_core.cprr.lifecycle import amend_protocol
from steering_core.cprr.runners import RunContext, runner
from steering_core.cprr.runners_geometry import extraction
from steering_core.cprr.runners_layers import mean_words
from steering_core.errors import InvalidParameterError
from steering_core.styles import as_style


def prompted_answers(ctx: RunContext, protocol: dict[str, Any], prompts: list[str], pole: str) -> list[str]:
    pair = as_style(str(protocol["styles"][0])).pairs[0]
    instruction = pair.positive if pole == "+" else pair.negative
    template = str(protocol["params"]["prompt_template"])
    texts = [template.format(instruction=instruction, question=q) for q in prompts]
    return ctx.generate(texts, int(protocol["max_new_tokens"]))


@runner("H-IP-1", fast=False)
def injection_reach(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """``injection_fraction`` = (words(base) - words(steered)) / (words(base) - words(prompted_+))."""
    prompts = ctx.prompts(protocol)
    params = protocol["params"]
    (layer,) = ctx.check_layers([int(params["layer"])])
    tokens = int(protocol["max_new_tokens"])
    vector = ctx.vector(str(protocol["styles"][0]), **extraction(protocol))
    median = next(n.median_norm for n in ctx.residual_norms(prompts) if n.layer == layer)
    alpha = float(params["ratio"]) * median / vector.norm(layer)
    base = mean_words(ctx.generate(prompts, tokens))
    prompted = mean_words(prompted_answers(ctx, protocol, prompts, "+"))
    steered = mean_words(ctx.steered(vector, alpha, layer, prompts, tokens))
    reach = base - prompted
    fraction = (base - steered) / reach if reach > 0 else 0.0
    return {
        "injection_fraction": fraction,
        "alpha": alpha,
        "baseline_words": base,
        "prompted_words": prompted,
        "steered_words": steered,
        "vector_norm": vector.norm(layer),
        "median_norm": median,
    }


@runner("C-14", fast=False)
def parity_asymmetry(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """``asymmetry`` = |a+ - a-| / min(a+, a-) over the protocol's alpha grid (see its definition)."""
    prompts = ctx.prompts(protocol)
    params = protocol["params"]
    (layer,) = ctx.check_layers([int(params["layer"])])
    tokens = int(protocol["max_new_tokens"])
    alphas = sorted(abs(float(a)) for a in protocol["alphas"])
    vector = ctx.vector(str(protocol["styles"][0]), **extraction(protocol))
    base = mean_words(ctx.generate(prompts, tokens))
    target = {pole: mean_words(prompted_answers(ctx, protocol, prompts, pole)) for pole in ("+", "-")}
    words: dict[str, dict[str, float]] = {"+": {}, "-": {}}
    reached: dict[str, float] = {}
    for pole, sign in (("+", 1.0), ("-", -1.0)):
        for alpha in alphas:
            w = mean_words(ctx.steered(vector, sign * alpha, layer, prompts, tokens))
            words[pole][f"{alpha:g}"] = w
            hit = w <= target["+"] if pole == "+" else w >= target["-"]
            if hit:
                reached[pole] = alpha
                break
    sentinel = 2.0 * max(alphas)
    a_plus, a_minus = reached.get("+", sentinel), reached.get("-", sentinel)
    return {
        "asymmetry": abs(a_plus - a_minus) / min(a_plus, a_minus),
        "a_plus": a_plus,
        "a_minus": a_minus,
        "baseline_words": base,
        "prompted_plus_words": target["+"],
        "prompted_minus_words": target["-"],
        "steered_plus_words": words["+"],
        "steered_minus_words": words["-"],
    }


def style_axis_contract(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """The directed contract of ``protocol`` (one style, one direction) as ``steer behaviour run`` runs it.

    Refuses (:class:`ProtocolDataError`) when the shipped recipe, questions, metric or threshold
    are not the registered ones (:func:`steering_core.cprr.style_axes.protocol_for` differs: amend
    the entry) or the recipe was searched on a model with another config. Returns the decision
    rule's metrics (``effect_ci_low``, ``perplexity_ratio``, ``guard_passed``,
    ``seed_checks_passed``), the contract's own verdict ``contract_passed`` (checked to agree with
    the rule), the effect and its interval, the negative controls, reliability and the metric's
    validation AUC; values that are not finite numbers are left out (the rule's never are: a
    non-finite rule metric is a :class:`MeasurementError`).
    """
    style, direction = str(protocol["styles"][0]), str(protocol["params"]["direction"])
    if getattr(ctx, "_planning", False):
        # the planning pass of an executor context (steer cprr run --executor ...): the behaviour
        # session submits its whole grid itself when the contract runs, so there is nothing to plan
        return {}
    recipes = load_recipes()
    if style_axes.protocol_for(style, direction, recipes) != protocol:
        raise ProtocolDataError(
            f"the shipped recipe, questions, metric or threshold of {style} {direction} are not the registered "
            "protocol's (a new `steer behaviour search` or data change): amend the entry "
            "(steering_core.cprr.runners_behaviour.amend_style_axes)"
        )
    searched_on = protocol["params"]["recipe"]["search_model_config_sha256"]
    if config_fingerprint(ctx.model)["sha256"] != searched_on:
        raise ProtocolDataError(f"the {style} recipe was searched on a model with another config ({searched_on[:12]}…)")
    questions = style_axes.question_set(protocol["prompt_set"]["id"]) or []
    ctx.inputs.append({"questions": questions, "recipe": protocol["params"]["recipe"], "direction": direction})
    tokens = int(protocol["max_new_tokens"])
    config = RunConfig(styles=[style], directions=(direction,), max_new_tokens=tokens, parity=False, lens=False)
    session = Session(ctx.loaded, max_new_tokens=tokens, progress=ctx.log, execution=getattr(ctx, "execution", None))
    (outcome,) = run_behaviour(config, session=session, recipes=recipes).outcomes
    if outcome.questions.get("sha256") is None or outcome.contract.style != style:
        raise MeasurementError(f"the behaviour run did not run the {style} {direction} contract")
    calibrated = outcome.calibrated
    (criterion,) = calibrated.criteria
    if calibrated.fluency is None:
        raise MeasurementError("the behaviour run measured no fluency for the steered answers")
    seed_ok = all(c.passed for c in calibrated.seed_checks) if outcome.contract.seed_checks else True
    measured: dict[str, Any] = {
        "effect_ci_low": criterion.interval.low,
        "perplexity_ratio": calibrated.fluency.ratio,
        "guard_passed": int(calibrated.guard.passed),
        "seed_checks_passed": int(seed_ok),
        "contract_passed": int(calibrated.passed),
        "specific": int(outcome.specific),
        "effect": criterion.interval.estimate,
        "effect_ci_high": criterion.interval.high,
        "threshold": criterion.criterion.min_effect,
        "baseline_mean": criterion.baseline_mean,
        "steered_mean": criterion.steered_mean,
        "alpha_zero_passed": int(outcome.zero_alpha.passed),
        "random_vector_passed": int(outcome.random_vector.passed),
        "layer_alphas": {str(k): float(v) for k, v in outcome.recipe["layer_alphas"].items()},
    }
    anti = outcome.reliability.get("anti_steerable", {})
    optional = {
        "anti_steerable_fraction": anti.get("anti_steerable_fraction"),
        "split_half_sign_agreement": outcome.reliability.get("split_half", {}).get("sign_agreement"),
        "validation_auc_held_out": outcome.validation.get("auc_held_out"),
    }
    measured.update({k: v for k, v in optional.items() if isinstance(v, (int, float)) and math.isfinite(v)})
    # on the values as the registry stores them (rounded), so the stored verdict is the contract's
    if (rules.verdict(protocol["decision_rule"], normalize_measured(measured)) == "pass") != calibrated.passed:
        raise MeasurementError("the decision rule and the behaviour contract disagree on this run")
    return measured


for _entry_id in style_axes.ENTRIES:
    runner(_entry_id, fast=False)(style_axis_contract)


def register_style_axes(directory: Path | str | None = None, now: str | None = None) -> list[str]:
    """Pre-register every H-SA entry the registry does not hold yet, with the shipped recipe record.

    Returns the ids written (an existing entry is never rewritten: a changed recipe is an amendment).

    Raises:
        ProtocolDataError: there is no recorded recipe search (``steer behaviour search``).
    """
    recipes = load_recipes()
    existing = {p.stem for p in store.entry_paths(directory)}
    written: list[str] = []
    for entry_id in style_axes.ENTRIES:
        if entry_id not in existing:
            store.write_entry(style_axes.entry_for(entry_id, recipes, now), directory)
            written.append(entry_id)
    return written


def amend_style_axes(reason: str, directory: Path | str | None = None, now: str | None = None) -> list[str]:
    """Amend every H-SA entry of the registry whose protocol is no longer the shipped data's (a new recipe search).

    Each amended entry keeps its old protocol and evidence in its history and restarts from the
    evidence under the new protocol (normally ``open``); run it again with ``steer cprr run``.
    Returns the ids amended.

    Raises:
        InvalidParameterError: ``reason`` is empty (an amendment says why).
        ProtocolDataError: there is no recorded recipe search.
    """
    if not reason.strip():
        raise InvalidParameterError("reason", "a non-empty reason for the amendment", repr(reason))
    recipes = load_recipes()
    existing = {p.stem for p in store.entry_paths(directory)}
    amended: list[str] = []
    for entry_id, (style, direction) in style_axes.ENTRIES.items():
        if entry_id not in existing:
            continue
        entry = store.load_entry(entry_id, directory)
        protocol = style_axes.protocol_for(style, direction, recipes)
        if protocol != entry["protocol"]:
            store.write_entry(amend_protocol(entry, protocol, reason, now), directory)
            amended.append(entry_id)
    return amended
