"""Extraction-recipe search: which way of building a style vector steers best, recorded.

A recipe (:class:`ExtractionRecipe`) says how a style vector is extracted:

* ``source``: ``seed`` (the seed's one verbatim pair) or ``contrast`` (the style's versioned
  contrast set, :mod:`steering_core.behaviour.contrast`);
* ``aggregator``: ``mean`` of the pair differences or ``pca`` (their first principal direction,
  sign-aligned to the mean and scaled to the mean projection; :func:`steering_core.extract.aggregate`);
* ``read_at``: ``last`` (the token before the answer) or ``mean`` (mean over the instruction's
  own tokens). With the contrast set, ``last`` reads every pair rendered in its conversation
  (``templated_style``, ``chat=False``); ``mean`` reads the single-message pairs only
  (``plain_style``, ``chat=True``, the instruction's tokens);
* ``layers``: one layer, or a band of adjacent layers; the perturbation is split evenly over the
  band's layers.

**Steering strength** is set by the perturbation ratio, not by alpha, so recipes of different
norms compare: at layer ``l``, ``alpha_l = ratio * median_l / ||v_l|| / len(layers)`` with
``median_l`` the median residual norm at ``l`` over ``neutral-questions-v1``
(:func:`steering_core.ops.perturbation_ratio`).

**Search** (:func:`search`, fixed before any run): per style, the candidates of
:func:`candidates` (one factor changed at a time from the seed recipe at the calibrated layer),
every ratio of ``ratios``, both directions, on the *search* half of each direction's question set
(first ``n_questions``), greedy, ``max_new_tokens`` tokens, all rows of a style in one batched
generation. Each cell records the directed point effect of the direction's criterion
(:func:`steering_core.behaviour.contract.directed_criterion`) over its threshold (*normalized
effect*), the topic guard and the fluency (perplexity ratio under the unsteered model). A cell is
*admissible* when the guard passes and the perplexity ratio is at most
:data:`~steering_core.behaviour.contract.FLUENCY_MAX_RATIO`. A recipe's score is the minimum over
the two directions of its best admissible normalized effect (both directions must move); the
chosen recipe has the largest score (ties: the earlier candidate), and each direction's ratio is
the smallest admissible one reaching :data:`SELECT_MARGIN` x the threshold, else its best
admissible one. The held-out half is never used here: the contracts report on it.

The record (:data:`RECIPES_PATH`, schema :data:`RECIPES_SCHEMA`) holds the search table, the
chosen recipe and ratios per style, and the contrast set's version and sha256.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import torch

from steering_core.behaviour.batch import Row
from steering_core.behaviour.contract import FLUENCY_MAX_RATIO, directed_criterion, measure_criterion
from steering_core.behaviour.contrast import load_contrast_set
from steering_core.behaviour.fluency import answer_fluency, perplexity_ratio
from steering_core.behaviour.metrics import METRICS_VERSION
from steering_core.behaviour.questions import load_question_set
from steering_core.behaviour.session import Session
from steering_core.behaviour.topic import guard
from steering_core.certify.fingerprint import config_fingerprint, weights_fingerprint
from steering_core.defaults import BEHAVIOUR_SEARCH_QUESTIONS, BEHAVIOUR_SEARCH_RATIOS, BEHAVIOUR_SEARCH_TOKENS
from steering_core.errors import InvalidParameterError
from steering_core.extract import aggregate, read_activations
from steering_core.layers import hidden_size, locate
from steering_core.models import model_name_of
from steering_core.plan import Term
from steering_core.prompt_sets import prompt_set
from steering_core.resources import data_path
from steering_core.styles import as_style
from steering_core.vector import Aggregator, ReadPosition, Recipe, SteeringVector

RECIPES_PATH = data_path("behaviour", "recipes.json")
RECIPES_SCHEMA = "steering-spec/behaviour-recipes/1"
SOURCES: tuple[str, ...] = ("seed", "contrast")
SELECT_MARGIN = 1.5
DEFAULT_RATIOS: tuple[float, ...] = BEHAVIOUR_SEARCH_RATIOS
DEFAULT_SEARCH_QUESTIONS = BEHAVIOUR_SEARCH_QUESTIONS
DEFAULT_SEARCH_TOKENS = BEHAVIOUR_SEARCH_TOKENS
NORM_SET = "neutral-questions-v1"


@dataclass(frozen=True)
class ExtractionRecipe:
    """How a style vector is extracted (see the module docstring)."""

    source: str = "seed"
    aggregator: str = "mean"
    read_at: str = "last"
    layers: tuple[int, ...] = (12,)

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise InvalidParameterError("recipe.source", f"one of {SOURCES}", repr(self.source))
        if self.aggregator not in ("mean", "pca"):
            raise InvalidParameterError("recipe.aggregator", "'mean' or 'pca'", repr(self.aggregator))
        if self.read_at not in ("last", "mean"):
            raise InvalidParameterError("recipe.read_at", "'last' or 'mean'", repr(self.read_at))
        if not self.layers or any(isinstance(x, bool) or not isinstance(x, int) or x < 0 for x in self.layers):
            raise InvalidParameterError("recipe.layers", "a non-empty tuple of layer indices", repr(self.layers))

    @property
    def name(self) -> str:
        """E.g. ``contrast/pca/last/L12`` or ``seed/mean/last/L11-13``."""
        band = f"L{self.layers[0]}" if len(self.layers) == 1 else f"L{self.layers[0]}-{self.layers[-1]}"
        return f"{self.source}/{self.aggregator}/{self.read_at}/{band}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {**asdict(self), "layers": list(self.layers), "name": self.name}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExtractionRecipe:
        """Inverse of :meth:`to_dict` (the name is ignored)."""
        return cls(
            str(data["source"]), str(data["aggregator"]), str(data["read_at"]), tuple(int(x) for x in data["layers"])
        )


def candidates(layer: int, num_layers: int) -> list[ExtractionRecipe]:
    """The searched recipes at ``layer``: the seed recipe, then one factor changed at a time.

    seed/mean/last/L; contrast/mean/last/L; contrast/pca/last/L; contrast/mean/mean/L;
    contrast/mean/last/band (L-1..L+1, clipped to the model).
    """
    band = _band(layer, num_layers)
    return [
        ExtractionRecipe("seed", "mean", "last", (layer,)),
        ExtractionRecipe("contrast", "mean", "last", (layer,)),
        ExtractionRecipe("contrast", "pca", "last", (layer,)),
        ExtractionRecipe("contrast", "mean", "mean", (layer,)),
        ExtractionRecipe("contrast", "mean", "last", band),
    ]


def _band(layer: int, num_layers: int) -> tuple[int, ...]:
    return tuple(x for x in (layer - 1, layer, layer + 1) if 0 <= x < num_layers)


def recipe_vector(session: Session, style: str, recipe: ExtractionRecipe) -> SteeringVector:
    """The style vector of ``recipe`` on the session's model (memoised in ``session.vectors``).

    Equal to :func:`steering_core.extract.extract` with the recipe's pairs, read position,
    aggregator and layers: the activations of one (source, read position) are read once for the
    band around the recipe's layers (a layer's activations do not depend on which other layers
    are read) and memoised, so the mean and PCA recipes share one forward pass over the pairs.
    """
    key = f"{style}|{recipe.name}"
    if key in session.vectors:
        return session.vectors[key]
    lm = session.lm
    n_layers = len(locate(lm.model)[1])
    read = sorted({x for layer in recipe.layers for x in _band(layer, n_layers)})
    if recipe.source == "seed":
        pairs, chat = as_style(style), True
    else:
        cs = load_contrast_set(style)
        pairs, chat = (
            (cs.templated_style(lm.tokenizer), False) if recipe.read_at == "last" else (cs.plain_style(), True)
        )
    memo = ("diffs", style, recipe.source, recipe.read_at, tuple(read))
    if memo not in session.measures:
        prompts = [t for pair in pairs.pairs for t in (pair.positive, pair.negative)]
        acts = read_activations(lm, prompts, read, read_at=cast(ReadPosition, recipe.read_at), chat=chat)
        session.measures[memo] = acts[0::2] - acts[1::2]  # (n_pairs, n_layers, hidden)
    diffs: torch.Tensor = session.measures[memo]
    agg = aggregate(diffs, cast(Aggregator, recipe.aggregator))
    vector = SteeringVector(
        directions={layer: agg[read.index(layer)].contiguous() for layer in recipe.layers},
        hidden_size=hidden_size(lm.model),
        num_layers=n_layers,
        model_name=model_name_of(lm.model),
        style=style,
        recipe=Recipe(
            pairs=pairs.pairs,
            read_at=cast(ReadPosition, recipe.read_at),
            aggregator=cast(Aggregator, recipe.aggregator),
            normalized=False,
            chat_template=chat,
        ),
    )
    session.vectors[key] = vector
    return vector


def layer_alphas(session: Session, vector: SteeringVector, ratio: float) -> dict[int, float]:
    """Per-layer alphas for a total perturbation ``ratio`` split evenly over the vector's layers."""
    layers = list(vector.layer_indices)
    prompts = prompt_set(NORM_SET)
    return {layer: ratio * session.median_norm(layer, prompts) / vector.norm(layer) / len(layers) for layer in layers}


def ratio_vector(session: Session, vector: SteeringVector) -> SteeringVector:
    """``vector`` rescaled per layer so that steering with alpha ``r`` is perturbation ratio ``r``.

    Layer ``l`` becomes ``v_l * median_l / ||v_l|| / len(layers)`` (see :func:`layer_alphas`), so
    ``alpha * ratio_vector`` adds exactly ``layer_alphas(vector, alpha)[l] * v_l`` up to rounding.
    The result is an ordinary single-alpha vector: it runs through :func:`steering_core.steer.steer`,
    per-row plans and execution cells alike.
    """
    per = layer_alphas(session, vector, 1.0)
    return SteeringVector(
        directions={layer: (vector[layer] * per[layer]).contiguous() for layer in per},
        hidden_size=vector.hidden_size,
        num_layers=vector.num_layers,
        model_name=vector.model_name,
        style=vector.style,
        recipe=vector.recipe,
        metadata={**vector.metadata, "scaled": "perturbation ratio per unit alpha"},
    )


def random_ratio_vector(vector: SteeringVector, seed: int) -> SteeringVector:
    """A seeded Gaussian direction per layer with the norm of ``vector`` at that layer (the random control)."""
    gen = torch.Generator().manual_seed(seed)
    layers: dict[int, torch.Tensor] = {}
    for layer in sorted(vector.layer_indices):
        d = torch.randn(vector.hidden_size, generator=gen, dtype=torch.float64)
        layers[layer] = (d / d.norm() * vector.norm(layer)).to(torch.float32)
    return SteeringVector(
        directions=layers,
        hidden_size=vector.hidden_size,
        num_layers=vector.num_layers,
        model_name=vector.model_name,
        style=f"random-{seed}",
        recipe=vector.recipe,
    )


def recipe_plan(session: Session, vector: SteeringVector, ratio: float, sign: int = 1) -> tuple[Term, ...] | None:
    """The row plan steering with ``vector`` at perturbation ``ratio`` (sign +1/-1); None at ratio 0."""
    return Session.plan(ratio_vector(session, vector), sign * ratio)


def _answer_fluency(session: Session, questions: Sequence[str], answers: Sequence[str]) -> list[Any]:
    key = ("fluency", tuple(questions), tuple(answers))
    if key not in session.measures:
        model, tok = session.lm.model, session.lm.tokenizer
        session.measures[key] = answer_fluency(model, tok, list(questions), list(answers), batch_size=session.max_batch)
    out: list[Any] = session.measures[key]
    return out


def fluency_ratio(session: Session, questions: Sequence[str], steered: Sequence[str], baseline: Sequence[str]) -> float:
    """Perplexity ratio of ``steered`` to ``baseline`` answers under the session's unsteered model.

    Per-answer fluencies are memoised per session (the baseline's are computed once).
    """
    return perplexity_ratio(_answer_fluency(session, questions, steered), _answer_fluency(session, questions, baseline))


def _cell(
    session: Session, style: str, direction: str, questions: list[str], baseline: list[str], answers: list[str]
) -> dict[str, Any]:
    crit = directed_criterion(style, direction)
    effect = measure_criterion(crit, baseline, answers).interval.estimate
    g = guard(questions, answers, baseline)
    ppl = fluency_ratio(session, questions, answers, baseline)
    fluent = ppl == ppl and ppl <= FLUENCY_MAX_RATIO
    return {
        "effect": effect,
        "normalized_effect": effect / crit.min_effect,
        "guard_passed": g.passed,
        "perplexity_ratio": ppl if ppl == ppl else None,
        "admissible": bool(g.passed and fluent),
    }


def _best(cells: list[dict[str, Any]]) -> dict[str, Any] | None:
    ok = [c for c in cells if c["admissible"]]
    reaching = [c for c in ok if c["normalized_effect"] >= SELECT_MARGIN]
    if reaching:
        return min(reaching, key=lambda c: c["ratio"])
    return max(ok, key=lambda c: (c["normalized_effect"], -c["ratio"])) if ok else None


def search_style(
    session: Session,
    style: str,
    layer: int,
    ratios: Sequence[float] = DEFAULT_RATIOS,
    n_questions: int = DEFAULT_SEARCH_QUESTIONS,
    max_new_tokens: int = DEFAULT_SEARCH_TOKENS,
) -> dict[str, Any]:
    """Search one style (module docstring); its record: table, chosen recipe and ratios."""
    num_layers = len(locate(session.lm.model)[1])
    recipes = candidates(layer, num_layers)
    qsets = {d: load_question_set(style, d) for d in ("positive", "negative")}
    questions = {d: list(q.search[:n_questions]) for d, q in qsets.items()}
    vectors = {r.name: ratio_vector(session, recipe_vector(session, style, r)) for r in recipes}
    grid: list[tuple[str, str, float, Row]] = []
    for d, qs in questions.items():
        sign = 1 if d == "positive" else -1
        grid += [(d, "", 0.0, Row(q)) for q in qs]
        for r in recipes:
            for ratio in ratios:
                plan = Session.plan(vectors[r.name], sign * ratio)
                grid += [(d, r.name, ratio, Row(q, plan)) for q in qs]
    session.say(f"{style}: recipe search, {len(grid)} rows")
    answers = session.rows([g[3] for g in grid], max_new_tokens)
    by: dict[tuple[str, str, float], list[str]] = {}
    for (d, name, ratio, _), a in zip(grid, answers, strict=True):
        by.setdefault((d, name, ratio), []).append(a)
    table: list[dict[str, Any]] = []
    for r in recipes:
        for d in ("positive", "negative"):
            for ratio in ratios:
                cell = _cell(session, style, d, questions[d], by[(d, "", 0.0)], by[(d, r.name, ratio)])
                table.append({"recipe": r.name, "direction": d, "ratio": ratio, **cell})
    scores: dict[str, dict[str, Any]] = {}
    for r in recipes:
        per = {
            d: _best([c for c in table if c["recipe"] == r.name and c["direction"] == d])
            for d in ("positive", "negative")
        }
        score = min((c["normalized_effect"] if c else float("-inf")) for c in per.values())
        scores[r.name] = {"score": score if score > float("-inf") else None, "best": per}
    ranked = [r for r in recipes if scores[r.name]["score"] is not None]
    chosen = max(ranked, key=lambda r: scores[r.name]["score"]) if ranked else recipes[0]
    best = scores[chosen.name]["best"]
    cs = load_contrast_set(style)
    return {
        "layer": layer,
        "questions": {d: {"version": q.version, "sha256": q.sha256, "search": questions[d]} for d, q in qsets.items()},
        "contrast_set": {"version": cs.version, "sha256": cs.sha256},
        "table": table,
        "scores": {k: v["score"] for k, v in scores.items()},
        "chosen": chosen.to_dict(),
        "chosen_ratio": {d: (best[d]["ratio"] if best[d] else max(ratios)) for d in ("positive", "negative")},
        "chosen_admissible": {d: best[d] is not None for d in ("positive", "negative")},
        "vector_norms": {r.name: {str(x): recipe_vector(session, style, r).norm(x) for x in r.layers} for r in recipes},
    }


def search(
    session: Session,
    styles: Sequence[str],
    layers: dict[str, int],
    ratios: Sequence[float] = DEFAULT_RATIOS,
    n_questions: int = DEFAULT_SEARCH_QUESTIONS,
    max_new_tokens: int = DEFAULT_SEARCH_TOKENS,
) -> dict[str, Any]:
    """The search record for ``styles`` (each at ``layers[style]``), ready to save as :data:`RECIPES_PATH`."""
    if not ratios or any(not r > 0 for r in ratios):
        raise InvalidParameterError("ratios", "a non-empty list of ratios > 0", repr(list(ratios)))
    if n_questions < 1:
        raise InvalidParameterError("n_questions", "an int >= 1", n_questions)
    out = {s: search_style(session, s, layers[s], ratios, n_questions, max_new_tokens) for s in styles}
    return {
        "schema": RECIPES_SCHEMA,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "model": session.lm.name,
        "model_fingerprint": {
            "config_sha256": config_fingerprint(session.lm.model)["sha256"],
            "weights_sha256": weights_fingerprint(session.lm.model)["sha256"],
        },
        "metrics_version": METRICS_VERSION,
        "ratios": list(ratios),
        "n_questions": n_questions,
        "max_new_tokens": max_new_tokens,
        "selection_rule": (
            "admissible = guard passes and perplexity ratio <= fluency bound; score = min over directions of the best "
            f"admissible effect/threshold; ratio per direction = smallest admissible reaching {SELECT_MARGIN} x "
            "threshold, else the best admissible"
        ),
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "styles": out,
    }


def load_recipes(path: Path | None = None) -> dict[str, Any] | None:
    """The recorded search (see :func:`search`), or None when no record exists.

    Raises:
        InvalidParameterError: the file exists but is not a recipes record.
    """
    target = path or RECIPES_PATH
    if not target.is_file():
        return None
    data: dict[str, Any] = json.loads(target.read_text(encoding="utf-8"))
    if data.get("schema") != RECIPES_SCHEMA:
        raise InvalidParameterError("recipes", f"schema {RECIPES_SCHEMA!r}", repr(data.get("schema")))
    return data
