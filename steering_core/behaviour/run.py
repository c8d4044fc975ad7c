"""``steer behaviour run``: every behavioural check on one model, as one JSON + markdown report.

For each style, with its recipe (``steering_core/data/behaviour/recipes.json`` from ``steer behaviour search``;
without a record, the seed recipe at the calibrated layer and ratio of
``steering_core/data/behaviour/calibration.json``) and in **both directions** (``positive``: +alpha toward the
positive pole; ``negative``: -alpha toward the negative pole), on the *held-out* half of the
direction's question set (``steering_core/data/behaviour/questions/<style>_<direction>.json``, where the
baseline has room to move; greedy; the same model unhooked is the baseline):

1. the directed contract (:func:`steering_core.behaviour.contract.directed_contract`: the style's
   validated metric, its registered threshold, the one-sided 95% lower bound must clear it, the
   topic guard, and the perplexity ratio under the unsteered model at most
   :data:`~steering_core.behaviour.contract.FLUENCY_MAX_RATIO`), and the same contract on two
   negative controls: alpha = 0 (the baseline's answers) and a random direction of the same norm
   per layer at the same alpha (seed :data:`RANDOM_SEED`). *Specific* = passes and neither
   control does;
2. reliability (:mod:`steering_core.behaviour.reliability`): the anti-steerable fraction of the
   questions and split-half agreement (over the alpha range in the positive direction);
3. the metric's validation (:func:`steering_core.behaviour.validation.validate_metric`, AUC);
4. (full run) against prompting (:mod:`steering_core.behaviour.prompting`), positive direction:
   the pole's instruction in the prompt, steering at :data:`ALPHA_MULTIPLES` x the contract's
   perturbation, and prompt + steering at the same multiples;
5. (full run) the lens bleed table on the probe questions (positive direction, the contract's
   vector and perturbation).

All generations of a run go through one :class:`~steering_core.behaviour.session.Session`:
in-process they are rows of one batched generation with per-row steering
(:mod:`steering_core.behaviour.batch`); with an execution they run as cells.
The reduced run (CI) does 1-3 only.
"""

from __future__ import annotations

import math
import platform
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from contracts.style import load_calibration
from steering_core.behaviour.batch import Row
from steering_core.behaviour.contract import (
    ContractResult,
    Fluency,
    StyleContract,
    directed_contract,
    evaluate,
    measure_criterion,
)
from steering_core.behaviour.lens import PROBE_SET, compare_answers
from steering_core.behaviour.metrics import METRICS_VERSION, style_score
from steering_core.behaviour.parity import with_instruction
from steering_core.behaviour.prompting import Point, comparison
from steering_core.behaviour.questions import load_question_set
from steering_core.behaviour.recipe import (
    ExtractionRecipe,
    fluency_ratio,
    layer_alphas,
    load_recipes,
    random_ratio_vector,
    ratio_vector,
    recipe_vector,
)
from steering_core.behaviour.reliability import anti_steerable, directed_effects, split_half_agreement
from steering_core.behaviour.report import render_markdown
from steering_core.behaviour.session import Session
from steering_core.behaviour.validation import validate_metric
from steering_core.certify.fingerprint import config_fingerprint, weights_fingerprint
from steering_core.errors import InvalidParameterError
from steering_core.models import load_model
from steering_core.prompt_sets import prompt_set, prompts_digest
from steering_core.styles import get_style
from steering_core.text import word_count
from steering_core.vector import SteeringVector

RANDOM_SEED = 1234
ALPHA_MULTIPLES = (0.5, 1.0, 2.0)
PARITY_MULTIPLES = ALPHA_MULTIPLES  # the old name
STYLES = ("terse", "formal", "socratic", "dry-wit")
DIRECTIONS = ("positive", "negative")


@dataclass
class RunConfig:
    """What a run does.

    ``parity`` turns on the comparison against prompting (the name is kept from the earlier
    prompt-vs-injection table it replaces); ``n_questions`` keeps the first n held-out questions
    of each direction (None: all); ``directions`` picks the directions run (both by default; a
    conjecture-registry runner runs one, :mod:`steering_core.cprr.style_axes`).
    """

    styles: list[str] = field(default_factory=lambda: list(STYLES))
    max_new_tokens: int = 64
    parity: bool = True
    lens: bool = True
    lens_max_new_tokens: int = 48
    n_questions: int | None = None
    directions: tuple[str, ...] = DIRECTIONS

    def __post_init__(self) -> None:
        d = self.directions
        if not d or len(set(d)) != len(d) or any(x not in DIRECTIONS for x in d):
            raise InvalidParameterError("directions", f"a non-empty subset of {DIRECTIONS}, each once", repr(d))

    @classmethod
    def full(cls) -> RunConfig:
        """Contracts, controls, reliability, against prompting and lens."""
        return cls()

    @classmethod
    def reduced(cls) -> RunConfig:
        """Contracts, controls and reliability only (the CI-sized run)."""
        return cls(parity=False, lens=False)


@dataclass
class StyleOutcome:
    """One style's contract in one direction, its controls and its measurements."""

    contract: StyleContract
    direction: str
    recipe: dict[str, Any]
    calibrated: ContractResult
    zero_alpha: ContractResult
    random_vector: ContractResult
    reliability: dict[str, Any] = field(default_factory=dict)
    validation: dict[str, Any] = field(default_factory=dict)
    questions: dict[str, Any] = field(default_factory=dict)

    @property
    def specific(self) -> bool:
        """The contract passes and neither negative control does."""
        return self.calibrated.passed and not self.zero_alpha.passed and not self.random_vector.passed

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; the primary criterion is flattened to the top level for tables and plots."""
        cal = self.calibrated.to_dict()
        primary = cal["criteria"][0]
        return {
            "style": self.contract.style,
            "direction": self.direction,
            "description": self.contract.description,
            "metric": primary["metric"],
            "rule": primary["rule"],
            "recipe": self.recipe,
            "layer": self.contract.layer,
            "alpha": self.contract.alpha,
            "ratio": self.contract.ratio,
            "baseline_mean": primary["baseline_mean"],
            "steered_mean": primary["steered_mean"],
            "effect": primary["effect"],
            "ci_low": primary["ci_low"],
            "ci_high": primary["ci_high"],
            "threshold": primary["threshold"],
            "fluency": cal["fluency"],
            "passed": self.calibrated.passed,
            "specific": self.specific,
            "verdict": "confirmed" if self.calibrated.passed else "refuted",
            "reliability": self.reliability,
            "validation": self.validation,
            "questions": self.questions,
            "conditions": {
                "calibrated": cal,
                "alpha_zero": self.zero_alpha.to_dict(),
                "random_vector": self.random_vector.to_dict(),
            },
        }


@dataclass
class BehaviourResult:
    """Everything one run measured."""

    meta: dict[str, Any]
    questions: dict[str, list[str]]
    baseline: dict[str, list[str]]
    outcomes: list[StyleOutcome]
    steered_answers: dict[str, dict[str, list[str]]]
    parity: list[dict[str, Any]] = field(default_factory=list)
    lens: list[dict[str, Any]] = field(default_factory=list)
    prompting: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report (the report page reads ``contracts``, ``prompting`` and ``lens``)."""
        return {
            **self.meta,
            "questions": self.questions,
            "baseline_answers": self.baseline,
            "contracts": [o.to_dict() for o in self.outcomes],
            "answers": self.steered_answers,
            "parity": self.parity,
            "prompting": self.prompting,
            "lens": self.lens[0] if self.lens else None,
            "lens_by_style": self.lens,
        }

    def to_markdown(self) -> str:
        """The human report."""
        return render_markdown(self.to_dict())


@dataclass
class _Plan:
    """What one style in one direction runs: questions, vectors and the contract's alpha."""

    style: str
    direction: str
    sign: int
    questions: list[str]
    qset: dict[str, Any]
    recipe: dict[str, Any]
    vector: SteeringVector  # ratio-scaled: alpha r = perturbation ratio r
    random: SteeringVector
    ratio: float
    layer_alphas: dict[int, float]

    @property
    def key(self) -> str:
        return f"{self.style}:{self.direction}"


def _recipes(record: dict[str, Any] | None, calibration: dict[str, Any], style: str) -> tuple[Any, dict[str, float]]:
    """The style's recipe and ratio per direction (recorded search, else the calibrated seed recipe)."""
    if record is not None and style in record.get("styles", {}):
        entry = record["styles"][style]
        ratios = {d: float(entry["chosen_ratio"][d]) for d in DIRECTIONS}
        return ExtractionRecipe.from_dict(entry["chosen"]), ratios
    chosen = calibration["styles"][style]["chosen"]
    ratio = float(chosen["ratio"])
    return ExtractionRecipe("seed", "mean", "last", (int(chosen["layer"]),)), {d: ratio for d in DIRECTIONS}


def _plans(
    session: Session,
    config: RunConfig,
    record: dict[str, Any] | None,
    calibration: dict[str, Any],
    vectors: Mapping[str, SteeringVector] | None = None,
) -> list[_Plan]:
    plans: list[_Plan] = []
    for style in config.styles:
        recipe, ratios = _recipes(record, calibration, style)
        given = (vectors or {}).get(style)
        raw = given if given is not None else recipe_vector(session, style, recipe)
        described = (
            {**recipe.to_dict(), "source_record": "recipes.json" if record else "calibration.json"}
            if given is None
            else {
                "name": "given vector",
                "layers": given.layer_indices,
                "source": "given",
                "ratio_from": ("recipes.json" if record else "calibration.json"),
            }
        )
        scaled = ratio_vector(session, raw)
        random = random_ratio_vector(scaled, RANDOM_SEED)
        for direction in config.directions:
            qs = load_question_set(style, direction)
            questions = list(qs.held_out)[: config.n_questions] if config.n_questions else list(qs.held_out)
            sign = 1 if direction == "positive" else -1
            plans.append(
                _Plan(
                    style,
                    direction,
                    sign,
                    questions,
                    {"version": qs.version, "sha256": qs.sha256, "half": "held_out", "n": len(questions)},
                    described,
                    scaled,
                    random,
                    ratios[direction],
                    {k: sign * v for k, v in layer_alphas(session, raw, ratios[direction]).items()},
                )
            )
    return plans


def _instruction(style: str, direction: str) -> str:
    pair = get_style(style).pairs[0]
    return pair.positive if direction == "positive" else pair.negative


def _requests(config: RunConfig, plans: list[_Plan]) -> list[tuple[list[str], Any, float]]:
    """Every generation of the contracts, controls and (full run) prompt comparison, to submit at once."""
    out: list[tuple[list[str], Any, float]] = []
    for p in plans:
        a = p.sign * p.ratio
        out += [(p.questions, None, 0.0), (p.questions, p.vector, a), (p.questions, p.random, a)]
        if config.parity and p.direction == "positive":
            instructed = [with_instruction(_instruction(p.style, p.direction), q) for q in p.questions]
            out.append((instructed, None, 0.0))
            for m in ALPHA_MULTIPLES:
                out += [(p.questions, p.vector, m * a), (instructed, p.vector, m * a)]
    return out


def _fluency(session: Session, questions: list[str], answers: list[str], baseline: list[str]) -> Fluency:
    return Fluency(fluency_ratio(session, questions, answers, baseline))


def _reliability(
    session: Session, p: _Plan, baseline: list[str], by_multiple: dict[float, list[str]]
) -> dict[str, Any]:
    b = [style_score(p.style, a) for a in baseline]
    at_one = [style_score(p.style, a) for a in by_multiple[1.0]]
    multiples = sorted(by_multiple)
    effects = [directed_effects(b, [style_score(p.style, a) for a in by_multiple[m]], p.sign) for m in multiples]
    return {
        "score": "oriented style score (steering_core.behaviour.metrics.style_score)",
        "anti_steerable": anti_steerable(b, at_one, p.sign).to_dict(),
        "split_half": split_half_agreement(p.questions, np.stack(effects), [m * p.ratio for m in multiples]).to_dict(),
    }


def _validation(style: str) -> dict[str, Any]:
    try:
        return validate_metric(style).to_dict()
    except Exception as error:  # a missing labelled set is reported, never a verdict
        return {"style": style, "error": f"{type(error).__name__}: {error}", "passed": False}


def run_behaviour(
    config: RunConfig,
    model: str | None = None,
    progress: Callable[[str], None] | None = None,
    calibration: dict[str, Any] | None = None,
    session: Session | None = None,
    recipes: dict[str, Any] | bool | None = True,
    vectors: Mapping[str, SteeringVector] | None = None,
) -> BehaviourResult:
    """Run the checks of ``config`` (see the module docstring) and return the result.

    ``vectors``: per style, a raw vector to judge instead of the recipe's (e.g. the vector being
    certified, :func:`steering_core.behaviour.certificate.contracts_block`); it is steered at the
    recipe's perturbation ratio per direction, split over its own layers.

    ``recipes``: True reads ``steering_core/data/behaviour/recipes.json`` when it exists and was searched on a
    model with this model's config fingerprint; a record uses it; None or False uses the
    calibrated seed recipe.
    """
    cal = calibration if calibration is not None else load_calibration()
    if session is None:
        lm = load_model(model, progress=progress or (lambda _: None))
        session = Session(lm, config.max_new_tokens, progress=progress)
    config_sha = config_fingerprint(session.lm.model)["sha256"]
    record = load_recipes() if recipes is True else (recipes or None)
    if (
        recipes is True
        and record is not None
        and record.get("model_fingerprint", {}).get("config_sha256") != config_sha
    ):
        session.say("recipes.json was searched on another model: using the calibrated seed recipe")
        record = None
    plans = _plans(session, config, record, cal, vectors)
    session.prefetch(_requests(config, plans))  # one batched grid (or one grid of cells)
    outcomes: list[StyleOutcome] = []
    answers: dict[str, dict[str, list[str]]] = {}
    questions: dict[str, list[str]] = {}
    baselines: dict[str, list[str]] = {}
    prompting: list[dict[str, Any]] = []
    for p in plans:
        a = p.sign * p.ratio
        layer = min(p.layer_alphas)
        contract = directed_contract(p.style, p.direction, layer, p.layer_alphas[layer], p.ratio)
        baseline = session.answers(p.questions)
        steered = session.answers(p.questions, p.vector, a)
        random = session.answers(p.questions, p.random, a)
        questions[p.key], baselines[p.key] = p.questions, baseline
        answers[p.key] = {"calibrated": steered, "random_vector": random}
        fluent = _fluency(session, p.questions, steered, baseline)
        calibrated = evaluate(contract, p.questions, baseline, steered, "calibrated", fluent)
        random_result = evaluate(contract, p.questions, baseline, random, "random-vector control")
        if random_result.criteria[0].passed and random_result.guard.passed:  # only then can fluency decide
            random_result.fluency = _fluency(session, p.questions, random, baseline)
        by_multiple = {1.0: steered}
        if config.parity and p.direction == "positive":
            by_multiple = {m: session.answers(p.questions, p.vector, m * a) for m in ALPHA_MULTIPLES}
        outcome = StyleOutcome(
            contract,
            p.direction,
            {**p.recipe, "layer_alphas": {str(k): v for k, v in p.layer_alphas.items()}},
            calibrated,
            evaluate(contract, p.questions, baseline, baseline, "alpha=0 control"),
            random_result,
            _reliability(session, p, baseline, by_multiple),
            _validation(p.style),
            p.qset,
        )
        outcomes.append(outcome)
        session.say(f"{p.style} {p.direction}: contract {'PASS' if calibrated.passed else 'FAIL'}")
        if config.parity and p.direction == "positive":
            instruction = _instruction(p.style, p.direction)
            instructed = [with_instruction(instruction, q) for q in p.questions]
            conditions: list[tuple[str, str, float, list[str]]] = [
                ("baseline", "baseline", 0.0, baseline),
                ("prompt", "prompt", 0.0, session.answers(instructed)),
            ]
            for m in ALPHA_MULTIPLES:
                conditions.append((f"steer x{m:g}", "steer", m, by_multiple[m]))
                conditions.append(
                    (f"prompt+steer x{m:g}", "prompt+steer", m, session.answers(instructed, p.vector, m * a))
                )
            prompting.append(_comparison(session, p, contract, instruction, conditions))
    lens: list[dict[str, Any]] = []
    if config.lens:
        lens = _lens(session, [p for p in plans if p.direction == "positive"], config.lens_max_new_tokens)
    meta = {
        "schema": "steering-spec/behaviour-report/2",
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "mode": "full" if (config.parity or config.lens) else "reduced",
        "model": session.lm.name,
        "model_fingerprint": {
            "config_sha256": config_sha,
            "weights_sha256": weights_fingerprint(session.lm.model)["sha256"],
        },
        "calibration_created": cal.get("created"),
        "recipes_created": record.get("created") if record else None,
        "metrics_version": METRICS_VERSION,
        "question_half": "held_out",
        "max_new_tokens": session.max_new_tokens,
        "random_seed": RANDOM_SEED,
        "alpha_multiples": list(ALPHA_MULTIPLES),
        "n_generations": session.n_generations,
        "n_rows": session.n_rows,
        "batched": session.batched and session.execution is None,
        "max_batch": session.max_batch,
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
    }
    return BehaviourResult(meta, questions, baselines, outcomes, answers, [], lens, prompting)


def _comparison(
    session: Session,
    p: _Plan,
    contract: StyleContract,
    instruction: str,
    conditions: list[tuple[str, str, float, list[str]]],
) -> dict[str, Any]:
    baseline = conditions[0][3]
    crit = contract.primary
    points: list[Point] = []
    for label, kind, m, texts in conditions:
        effect = measure_criterion(crit, baseline, texts).interval.estimate if kind != "baseline" else 0.0
        ppl = fluency_ratio(session, p.questions, texts, baseline) if kind != "baseline" else 1.0
        words = float(np.mean([word_count(t) for t in texts]))
        points.append(Point(label, kind, m, effect, effect / crit.min_effect, ppl, words))
    out = comparison(p.style, p.direction, points, instruction)
    out["metric"] = crit.describe()
    session.say(f"{p.style}: against prompting: {out['summary']['text']}")
    return out


def _lens(session: Session, plans: list[_Plan], max_new_tokens: int) -> list[dict[str, Any]]:
    probes = list(prompt_set(PROBE_SET))
    rows = [Row(q) for q in probes]
    for p in plans:
        rows += [Row(q, Session.plan(p.vector, p.sign * p.ratio)) for q in probes]
    texts = session.rows(rows, max_new_tokens)
    baseline = texts[: len(probes)]
    out: list[dict[str, Any]] = []
    for i, p in enumerate(plans):
        steered = texts[(i + 1) * len(probes) : (i + 2) * len(probes)]
        layer = min(p.layer_alphas)
        report = compare_answers(
            baseline,
            steered,
            style=p.style,
            layer=layer,
            alpha=p.layer_alphas[layer],
            ratio=p.ratio,
            prompt_set=PROBE_SET,
            prompt_set_sha256=prompts_digest(probes),
            max_new_tokens=max_new_tokens,
        )
        out.append(report.to_dict())
        session.say(f"{p.style}: lens done")
    return out


def finite(value: Any) -> bool:
    """True for a finite float (helper for reports)."""
    return isinstance(value, (int, float)) and math.isfinite(value)
