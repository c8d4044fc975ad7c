"""The four seed style axes in both directions as registry hypotheses H-SA-1..H-SA-8 (issue 18).

Each entry pre-registers one directed behavioural contract of
:mod:`steering_core.behaviour.run` on the embedded model: the style, the direction, the
extraction recipe and perturbation ratio chosen by the recorded search
(``steering_core/data/behaviour/recipes.json``), the held-out half of the direction's question
set, the style's validated metric and its registered threshold, and the fluency bound. Its
runner (:func:`steering_core.cprr.runners_behaviour.style_axis_contract`) runs exactly that
contract, so the registry's verdict is the behaviour run's verdict for that style and direction:
``refuted`` after one failing run is a result of the recorded search, never a weaker threshold.

A change of recipe, questions, metric or threshold is a new protocol: :func:`protocol_for`
then no longer equals the registered one, the runner refuses (:class:`ProtocolDataError`) and
the entry must be amended
(:func:`steering_core.cprr.runners_behaviour.amend_style_axes`, which calls
:func:`steering_core.cprr.lifecycle.amend_protocol`: the old protocol and its evidence stay in
the entry's history).

Prompt sets of these entries are named ``behaviour/<style>_<direction>/held_out``; their sha256
is :func:`steering_core.prompt_sets.prompts_digest` of the held-out questions
(:func:`question_set`, read by the registry validator).
"""

from __future__ import annotations

from typing import Any

from steering_core.behaviour.contract import DIRECTIONS, FLUENCY_MAX_RATIO, directed_criterion
from steering_core.behaviour.criteria import CRITERIA, SEED_CHECKS
from steering_core.behaviour.metrics import METRICS_VERSION
from steering_core.behaviour.questions import load_question_set
from steering_core.cprr.errors import ProtocolDataError
from steering_core.cprr.lifecycle import Entry, new_entry
from steering_core.prompt_sets import prompts_digest

STYLES: tuple[str, ...] = tuple(CRITERIA)
"""The four seed styles in the order of their pre-registered criteria (terse, formal, socratic, dry-wit)."""

ENTRIES: dict[str, tuple[str, str]] = {
    f"H-SA-{2 * i + j + 1}": (style, direction)
    for i, style in enumerate(STYLES)
    for j, direction in enumerate(DIRECTIONS)
}
"""Entry id -> (style, direction): H-SA-1 terse positive, H-SA-2 terse negative, ... H-SA-8 dry-wit negative."""

SET_PREFIX = "behaviour/"
MAX_NEW_TOKENS = 64
SEED = 0
LAYER_MAPPING = (
    "Project protocol on the embedded model; no seed mapping. Layer numbers are embedded-model "
    "indices (0-based, output of that decoder layer; 24 layers), the layers of the recorded "
    "extraction recipe."
)
METRIC_DEFINITION = (
    "Greedy answers (chat template, at most max_new_tokens new tokens) to the held-out questions of "
    "the direction's question set, unhooked (baseline) and steered with the recipe's vector scaled "
    "to perturbation ratio params.ratio at every recipe layer, signed by the direction "
    "(steering_core.behaviour.run, one direction). effect = the style's validated metric "
    "(params.metric, params.metrics_version) moved toward the direction's pole: relative change of "
    "means or difference of means (params.effect_kind), signed so that positive is the required way; "
    "effect_ci_low = the low end of its 90% paired percentile bootstrap over questions (4000 "
    "resamples, seed 20261125), a one-sided 95% lower bound. perplexity_ratio = geometric-mean "
    "perplexity of the steered answers over the baseline answers under the unsteered model. "
    "guard_passed = 1 when the topic/coherence guard passes; seed_checks_passed = 1 when the seed's "
    "five checks hold (required for terse positive only, else 1). The rule is the directed contract."
)


def parse_set_id(set_id: str) -> tuple[str, str] | None:
    """``(style, direction)`` of a prompt-set id ``behaviour/<style>_<direction>/held_out``, else None."""
    if not set_id.startswith(SET_PREFIX) or not set_id.endswith("/held_out"):
        return None
    style, _, direction = set_id[len(SET_PREFIX) : -len("/held_out")].rpartition("_")
    return (style, direction) if (style, direction) in ENTRIES.values() else None


def set_id(style: str, direction: str) -> str:
    """The prompt-set id of the held-out questions of ``style`` in ``direction``."""
    return f"{SET_PREFIX}{style}_{direction}/held_out"


def question_set(set_id: str) -> list[str] | None:
    """The held-out questions named by ``set_id`` (see :func:`parse_set_id`), or None for another id."""
    parsed = parse_set_id(set_id)
    if parsed is None:
        return None
    return list(load_question_set(*parsed).held_out)


def recipe_of(style: str, direction: str, recipes: dict[str, Any] | None) -> dict[str, Any]:
    """The recorded recipe of ``style`` for ``direction`` in the search record ``recipes``
    (:func:`steering_core.behaviour.recipe.load_recipes`): chosen extraction, ratio, contrast set and the
    config fingerprint of the model searched on. Not the search's date or table: a new search that
    chooses the same recipe and ratio leaves the protocol, and its evidence, as they are.

    Raises:
        ProtocolDataError: no recorded search, or none for ``style``.
    """
    record = recipes
    if record is None or style not in record.get("styles", {}):
        raise ProtocolDataError(f"no recorded recipe for {style!r} (run `steer behaviour search`)")
    entry = record["styles"][style]
    try:
        return {
            "extraction": dict(entry["chosen"]),
            "ratio": float(entry["chosen_ratio"][direction]),
            "contrast_set": dict(entry["contrast_set"]),
            "search_model_config_sha256": str(record["model_fingerprint"]["config_sha256"]),
        }
    except (KeyError, TypeError, ValueError) as error:
        raise ProtocolDataError(
            f"the recipe record of {style!r} {direction} is malformed ({type(error).__name__}: {error}); "
            "run `steer behaviour search` again"
        ) from error


def protocol_for(style: str, direction: str, recipes: dict[str, Any] | None) -> dict[str, Any]:
    """The protocol of the directed contract of ``style`` in ``direction``: the shipped questions,
    metric and threshold, and the recipe of the search record ``recipes``."""
    recipe = recipe_of(style, direction, recipes)
    criterion = directed_criterion(style, direction)
    questions = list(load_question_set(style, direction).held_out)
    rules: list[dict[str, Any]] = [
        {"metric": "effect_ci_low", "op": ">=", "threshold": criterion.min_effect},
        {"metric": "perplexity_ratio", "op": "<=", "threshold": FLUENCY_MAX_RATIO},
        {"metric": "guard_passed", "op": "==", "threshold": 1},
    ]
    if style in SEED_CHECKS and direction == "positive":
        rules.append({"metric": "seed_checks_passed", "op": "==", "threshold": 1})
    return {
        "model": "embedded",
        "dtype": "float32",
        "layer_mapping": LAYER_MAPPING,
        "layers": [int(layer) for layer in recipe["extraction"]["layers"]],
        "alphas": [],
        "styles": [style],
        "prompt_set": {
            "id": set_id(style, direction),
            "sha256": prompts_digest(questions),
            "n_prompts": len(questions),
        },
        "metric": "effect_ci_low",
        "metric_definition": METRIC_DEFINITION,
        "decision_rule": {"all": rules},
        "n_samples": len(questions),
        "max_new_tokens": MAX_NEW_TOKENS,
        "seed": SEED,
        "params": {
            "direction": direction,
            "metric": criterion.metric,
            "metric_sign": criterion.direction,
            "effect_kind": criterion.effect,
            "metrics_version": METRICS_VERSION,
            "recipe": recipe,
        },
    }


def entry_for(entry_id: str, recipes: dict[str, Any] | None, now: str | None = None) -> Entry:
    """A freshly pre-registered entry ``entry_id`` (status open, no evidence) with the recipe of ``recipes``."""
    style, direction = ENTRIES[entry_id]
    sign = "+alpha" if direction == "positive" else "-alpha"
    criterion = directed_criterion(style, direction)
    way = "up" if criterion.direction > 0 else "down"
    amount = f"{criterion.min_effect:.0%}" if criterion.effect == "relative" else f"{criterion.min_effect:g}"
    return new_entry(
        entry_id,
        "hypothesis",
        "style axes",
        f"The {style} vector steers toward its {direction} pole ({sign})",
        (
            f"On the embedded model, steering with the recorded {style} recipe at {sign} (ratio-scaled) moves "
            f"{criterion.metric} {way} by at least {amount} (one-sided 95% lower bound over the held-out questions "
            f"of the {style} {direction} set), with the coherence guard passing and the steered answers' "
            f"perplexity under the unsteered model at most {FLUENCY_MAX_RATIO:g}x the baseline answers'."
        ),
        {
            "source": "project",
            "adaptation": (
                f"The seed's showcase steers the {style} style one way at one layer; this is its directed contract "
                "of issue 18 (both directions, validated metric, recorded recipe search, fluency bound), "
                "the same contract `make behaviour` reports."
            ),
        },
        protocol_for(style, direction, recipes),
        now,
    )
