"""The lens (bleed) eval: does a steering vector drag unrelated topics into neutral answers?

A *lens* is a versioned regex vocabulary (``steering_core/data/lenses.json``, schema ``steering-spec/lenses/1``,
version ``lenses-v1``: the seed's twelve lenses). The eval answers the ten neutral probes of
``lens-probes-v1`` (bread, grief, tides, ...) once unhooked and once steered through
:func:`steering_core.steer.steer`, and scores every lens on both.

Scoring (the contract of :func:`count_text` / :func:`score_text`):

* The text's words are :func:`steering_core.text.words` (lower-cased; a typographic apostrophe
  counts as ``'``), joined with single spaces into the *normalised text*.
* Each pattern is a Python regex over the normalised text, compiled case-insensitively and
  anchored to whole words: a match starts at the start of a word and ends at the end of a word.
  So a space in a pattern separates words, a hyphenated form is written with a space
  (``AI-powered`` -> ``ai powered``), and inflections are spelt out (``targets?`` does not match
  ``targeted``).
* A lens's matched words are the words covered by the spans of all its patterns' matches
  (``re.finditer`` per pattern). A multi-word match counts every word of its span; a word covered
  by several matches of one lens counts once; a word may count for several lenses.
* ``score = matched words / total words``, 0.0 for a text without words.
* Pooled over answers (:func:`score_answers`): ``sum(matched) / sum(words)``, so long answers
  weigh more; the per-answer scores come with it.

Bands (:func:`band`, the seed's): ``score < 0.01`` clean; ``0.01 <= score < 0.03`` ambient;
``0.03 <= score <= 0.05`` captured; ``score > 0.05`` full contamination. Each lower bound
belongs to the higher band except 5%, which is still "captured" (the seed says "> 5%" for full).
A score ``m / n`` equal to a threshold as a rational number is the threshold's own double (both
are correctly rounded), so the boundaries are exact.
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from steering_core.canonical import sha256_hex
from steering_core.errors import InvalidParameterError
from steering_core.prompt_sets import prompt_set, prompts_digest
from steering_core.text import words

if TYPE_CHECKING:
    from steering_core.generate import StepCallback

LENS_SCHEMA = "steering-spec/lenses/1"
LENS_FILE = "lenses.json"
PROBE_SET = "lens-probes-v1"
CALIBRATION_SET = "neutral-questions-v1"

Band = Literal["clean", "ambient", "captured", "full"]
BANDS: tuple[Band, ...] = ("clean", "ambient", "captured", "full")
CLEAN_BELOW = 0.01
AMBIENT_BELOW = 0.03
CAPTURED_UP_TO = 0.05

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_VERSION_RE = re.compile(r"^lenses-v[0-9]+$")


# --------------------------------------------------------------------------- vocabulary file
@dataclass(frozen=True)
class Lens:
    """One lens: a name, what it detects, its word-anchored patterns and example texts.

    Every example scores above 0 on its own lens (checked by the tests, not on load).
    """

    name: str
    description: str
    patterns: tuple[str, ...]
    examples: tuple[str, ...] = ()
    compiled: tuple[re.Pattern[str], ...] = field(default=(), repr=False, compare=False)


@dataclass(frozen=True)
class LensSet:
    """A loaded vocabulary file: schema id, version, the lenses in file order, and its digest."""

    schema: str
    version: str
    lenses: tuple[Lens, ...]
    sha256: str

    @property
    def names(self) -> list[str]:
        """Lens names in file order."""
        return [lens.name for lens in self.lenses]

    def get(self, name: str) -> Lens:
        """The lens called ``name``.

        Raises:
            InvalidParameterError: no such lens.
        """
        for lens in self.lenses:
            if lens.name == name:
                return lens
        raise InvalidParameterError("lens", f"one of {self.names}", repr(name))


def lens_digest(document: Mapping[str, Any]) -> str:
    """sha256 (hex) of a lens document's canonical JSON (independent of the file's formatting)."""
    return sha256_hex(document, "lenses")


def anchor(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled case-insensitively, anchored to word starts and ends of a normalised text."""
    return re.compile(rf"(?<![^ ])(?:{pattern})(?![^ ])", re.IGNORECASE)


def _bad(where: str, accepted: str, got: object) -> InvalidParameterError:
    return InvalidParameterError(f"lenses: {where}", accepted, got)


def _strings(value: object, where: str, allow_empty: bool = False) -> tuple[str, ...]:
    if not isinstance(value, list) or (not value and not allow_empty):
        raise _bad(where, "a non-empty list of strings" if not allow_empty else "a list of strings", repr(value))
    if not all(isinstance(x, str) and x.strip() for x in value):
        raise _bad(where, "non-empty strings only", repr(value))
    if len(set(value)) != len(value):
        raise _bad(where, "no duplicates", repr(value))
    return tuple(value)


def _parse_lens(entry: object, index: int) -> Lens:
    if not isinstance(entry, dict):
        raise _bad(f"lenses[{index}]", "an object", type(entry).__name__)
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise _bad(f"lenses[{index}].name", "a lower-case identifier", repr(name))
    description = entry.get("description")
    if not isinstance(description, str) or not description.strip():
        raise _bad(f"{name}.description", "a non-empty string", repr(description))
    patterns = _strings(entry.get("patterns"), f"{name}.patterns")
    examples = _strings(entry.get("examples", []), f"{name}.examples", allow_empty=True)
    compiled: list[re.Pattern[str]] = []
    for pattern in patterns:
        try:
            raw = re.compile(pattern, re.IGNORECASE)
        except re.error as error:
            raise _bad(f"{name}.patterns", "valid Python regular expressions", f"{pattern!r} ({error})") from None
        if raw.fullmatch("") is not None:
            raise _bad(f"{name}.patterns", "patterns that cannot match the empty string", repr(pattern))
        compiled.append(anchor(pattern))
    extra = set(entry) - {"name", "description", "patterns", "examples"}
    if extra:
        raise _bad(f"{name}", "keys name, description, patterns, examples", sorted(extra))
    return Lens(name, description, patterns, examples, tuple(compiled))


def parse_lenses(document: Mapping[str, Any]) -> LensSet:
    """Validate a lens document and compile it.

    Checks: schema id ``steering-spec/lenses/1``; version ``lenses-v<N>``; a non-empty list of
    lenses with unique lower-case names, non-empty descriptions, non-empty duplicate-free lists of
    patterns that compile and cannot match the empty string, optional example texts.

    Raises:
        InvalidParameterError: the first violated check.
    """
    if not isinstance(document, Mapping):
        raise _bad("document", "a JSON object", type(document).__name__)
    if document.get("schema") != LENS_SCHEMA:
        raise _bad("schema", repr(LENS_SCHEMA), repr(document.get("schema")))
    version = document.get("version")
    if not isinstance(version, str) or not _VERSION_RE.match(version):
        raise _bad("version", "'lenses-v<N>'", repr(version))
    entries = document.get("lenses")
    if not isinstance(entries, list) or not entries:
        raise _bad("lenses", "a non-empty list", repr(entries))
    lenses = tuple(_parse_lens(entry, i) for i, entry in enumerate(entries))
    names = [lens.name for lens in lenses]
    if len(set(names)) != len(names):
        raise _bad("lenses", "unique names", names)
    return LensSet(LENS_SCHEMA, version, lenses, lens_digest(document))


def _default_text() -> str:
    """The shipped file: package data ``steering_core/data/lenses.json`` (:mod:`importlib.resources`)."""
    return resources.files("steering_core").joinpath(f"data/{LENS_FILE}").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _default_lenses() -> LensSet:
    data = json.loads(_default_text())
    return parse_lenses(data)


def load_lenses(path: str | Path | None = None) -> LensSet:
    """The lens vocabulary of ``path``, or the shipped ``data/lenses.json`` (cached) when None."""
    if path is None:
        return _default_lenses()
    return parse_lenses(json.loads(Path(path).read_text(encoding="utf-8")))


# --------------------------------------------------------------------------- scoring
@dataclass(frozen=True)
class LensCount:
    """Matched words of one lens in a text (or pooled texts), out of all words."""

    matched: int
    words: int

    @property
    def fraction(self) -> float:
        """``matched / words``; 0.0 when there are no words."""
        return self.matched / self.words if self.words else 0.0


def normalise(text: str) -> str:
    """The normalised text: the words of ``text`` (lower-cased, ``’`` as ``'``) joined by single spaces."""
    return " ".join(w.replace("’", "'") for w in words(text))


def _word_starts(normalised: str) -> list[int]:
    starts = [0] if normalised else []
    starts.extend(i + 1 for i, ch in enumerate(normalised) if ch == " ")
    return starts


def _matched_indices(lens: Lens, normalised: str, starts: Sequence[int]) -> set[int]:
    hit: set[int] = set()
    for pattern in lens.compiled:
        for match in pattern.finditer(normalised):
            begin, end = match.span()
            if end <= begin:
                continue
            first = bisect_right(starts, begin) - 1
            last = bisect_right(starts, end - 1) - 1
            hit.update(range(first, last + 1))
    return hit


def _lens_set(lenses: LensSet | None) -> LensSet:
    return _default_lenses() if lenses is None else lenses


def count_text(text: str, lenses: LensSet | None = None) -> dict[str, LensCount]:
    """Per lens (file order): matched words and total words of ``text`` (module docstring)."""
    if not isinstance(text, str):
        raise InvalidParameterError("text", "a str", type(text).__name__)
    chosen = _lens_set(lenses)
    normalised = normalise(text)
    starts = _word_starts(normalised)
    return {
        lens.name: LensCount(len(_matched_indices(lens, normalised, starts)), len(starts)) for lens in chosen.lenses
    }


def matched_words(text: str, lens: str, lenses: LensSet | None = None) -> list[str]:
    """The words of ``text`` that lens ``lens`` matches, in text order (for inspection)."""
    chosen = _lens_set(lenses).get(lens)
    normalised = normalise(text)
    starts = _word_starts(normalised)
    tokens = normalised.split(" ") if normalised else []
    return [tokens[i] for i in sorted(_matched_indices(chosen, normalised, starts))]


def score_text(text: str, lenses: LensSet | None = None) -> dict[str, float]:
    """Per lens (file order): matched words / total words of ``text``, in [0, 1]."""
    return {name: count.fraction for name, count in count_text(text, lenses).items()}


def band(fraction: float) -> Band:
    """The seed's band of a lens score: clean < 0.01 <= ambient < 0.03 <= captured <= 0.05 < full.

    Raises:
        InvalidParameterError: ``fraction`` is not a real number in [0, 1].
    """
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not math.isfinite(fraction):
        raise InvalidParameterError("fraction", "a finite real number in [0, 1]", repr(fraction))
    if not 0.0 <= fraction <= 1.0:
        raise InvalidParameterError("fraction", "a finite real number in [0, 1]", repr(fraction))
    if fraction < CLEAN_BELOW:
        return "clean"
    if fraction < AMBIENT_BELOW:
        return "ambient"
    if fraction <= CAPTURED_UP_TO:
        return "captured"
    return "full"


@dataclass(frozen=True)
class AnswerScores:
    """Lens scores of a set of answers: pooled (sum matched / sum words) and per answer."""

    pooled: dict[str, float]
    per_answer: tuple[dict[str, float], ...]
    matched: dict[str, int]
    words: int


def score_answers(answers: Sequence[str], lenses: LensSet | None = None) -> AnswerScores:
    """Score every lens on ``answers``: pooled ``sum(matched) / sum(words)`` and per answer.

    An empty list, or answers without words, pool to 0.0 for every lens.
    """
    if isinstance(answers, str):
        raise InvalidParameterError("answers", "a sequence of answer strings", "a single str")
    chosen = _lens_set(lenses)
    counts = [count_text(answer, chosen) for answer in answers]
    total = sum(next(iter(c.values())).words for c in counts) if counts else 0
    matched = {name: sum(c[name].matched for c in counts) for name in chosen.names}
    pooled = {name: LensCount(matched[name], total).fraction for name in chosen.names}
    per_answer = tuple({name: c[name].fraction for name in chosen.names} for c in counts)
    return AnswerScores(pooled, per_answer, matched, total)


# --------------------------------------------------------------------------- report
LENS_RUN_KEYS: tuple[str, ...] = ("style", "layer", "alpha", "ratio", "prompt_set")
"""The keys that name one lens run, first in every lens JSON (:class:`LensReport` and the figures' ``LensData``)."""


def lens_run_fields(run: object) -> dict[str, Any]:
    """``{key: run.key}`` for :data:`LENS_RUN_KEYS`, in that order."""
    return {key: getattr(run, key) for key in LENS_RUN_KEYS}


@dataclass(frozen=True)
class LensRow:
    """One lens: pooled baseline and steered scores (fractions), their change and bands."""

    name: str
    baseline: float
    steered: float
    change: float
    band_baseline: Band
    band_steered: Band

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready row (fractions, not percents)."""
        return {
            "name": self.name,
            "baseline": self.baseline,
            "steered": self.steered,
            "change": self.change,
            "band_baseline": self.band_baseline,
            "band_steered": self.band_steered,
        }


@dataclass(frozen=True)
class LensReport:
    """Baseline against steered lens scores for one vector, layer and alpha.

    ``change = steered - baseline`` (a fraction; percentage points in :meth:`to_markdown`).
    ``prompt_set_sha256`` is the sha256 of the prompts actually used, as canonical JSON (equal to
    :func:`steering_core.prompt_sets.prompt_set_digest` when a whole shipped set is used).
    """

    style: str
    layer: int
    alpha: float
    ratio: float
    prompt_set: str
    prompt_set_sha256: str
    lens_version: str
    lens_sha256: str
    max_new_tokens: int
    lenses: tuple[LensRow, ...]
    baseline_answers: tuple[str, ...]
    steered_answers: tuple[str, ...]

    def row(self, name: str) -> LensRow:
        """The row of lens ``name``.

        Raises:
            InvalidParameterError: no such lens in the report.
        """
        for row in self.lenses:
            if row.name == name:
                return row
        raise InvalidParameterError("lens", f"one of {[r.name for r in self.lenses]}", repr(name))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the run's identity, one entry per lens, and the answers."""
        return {
            **lens_run_fields(self),
            "prompt_set_sha256": self.prompt_set_sha256,
            "lens_version": self.lens_version,
            "lens_sha256": self.lens_sha256,
            "max_new_tokens": self.max_new_tokens,
            "lenses": [row.to_dict() for row in self.lenses],
            "answers": {"baseline": list(self.baseline_answers), "steered": list(self.steered_answers)},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LensReport:
        """Inverse of :meth:`to_dict`."""
        return cls(
            style=str(data["style"]),
            layer=int(data["layer"]),
            alpha=float(data["alpha"]),
            ratio=float(data["ratio"]),
            prompt_set=str(data["prompt_set"]),
            prompt_set_sha256=str(data["prompt_set_sha256"]),
            lens_version=str(data["lens_version"]),
            lens_sha256=str(data["lens_sha256"]),
            max_new_tokens=int(data["max_new_tokens"]),
            lenses=tuple(
                LensRow(
                    str(r["name"]),
                    float(r["baseline"]),
                    float(r["steered"]),
                    float(r["change"]),
                    band(float(r["baseline"])),
                    band(float(r["steered"])),
                )
                for r in data["lenses"]
            ),
            baseline_answers=tuple(str(a) for a in data["answers"]["baseline"]),
            steered_answers=tuple(str(a) for a in data["answers"]["steered"]),
        )

    def to_markdown(self, caption: bool = True) -> str:
        """A Markdown table ``lens | baseline % | band | steered % | band | change pp``.

        With ``caption``, a line naming style, layer, alpha, ratio, prompts and lens version precedes it.
        """
        lines: list[str] = []
        if caption:
            lines.append(
                f"Lens eval: style {self.style}, layer {self.layer}, alpha {self.alpha:g}, ratio {self.ratio:.3f}, "
                f"{len(self.baseline_answers)} prompts ({self.prompt_set}, sha256 {self.prompt_set_sha256[:12]}), "
                f"max {self.max_new_tokens} new tokens, lenses {self.lens_version} (sha256 {self.lens_sha256[:12]})"
            )
            lines.append("")
        lines.append("| lens | baseline % | band | steered % | band | change pp |")
        lines.append("|---|---:|---|---:|---|---:|")
        for r in self.lenses:
            lines.append(
                f"| {r.name} | {100 * r.baseline:.2f} | {r.band_baseline} | {100 * r.steered:.2f} | "
                f"{r.band_steered} | {100 * r.change:+.2f} |"
            )
        return "\n".join(lines) + "\n"


def compare_answers(
    baseline_answers: Sequence[str],
    steered_answers: Sequence[str],
    *,
    style: str,
    layer: int,
    alpha: float,
    ratio: float,
    prompt_set: str,
    prompt_set_sha256: str,
    max_new_tokens: int,
    lenses: LensSet | None = None,
) -> LensReport:
    """A :class:`LensReport` from answers already generated (pure: no model involved).

    Raises:
        InvalidParameterError: the two answer lists differ in length.
    """
    if len(baseline_answers) != len(steered_answers):
        raise InvalidParameterError(
            "steered_answers", f"{len(baseline_answers)} answers (one per baseline answer)", len(steered_answers)
        )
    chosen = _lens_set(lenses)
    base = score_answers(baseline_answers, chosen).pooled
    steered = score_answers(steered_answers, chosen).pooled
    rows = tuple(
        LensRow(name, base[name], steered[name], steered[name] - base[name], band(base[name]), band(steered[name]))
        for name in chosen.names
    )
    return LensReport(
        style=style,
        layer=layer,
        alpha=alpha,
        ratio=ratio,
        prompt_set=prompt_set,
        prompt_set_sha256=prompt_set_sha256,
        lens_version=chosen.version,
        lens_sha256=chosen.sha256,
        max_new_tokens=max_new_tokens,
        lenses=rows,
        baseline_answers=tuple(baseline_answers),
        steered_answers=tuple(steered_answers),
    )


# --------------------------------------------------------------------------- the eval
def _choose_prompts(prompts: Sequence[str] | str | None, n_prompts: int | None) -> tuple[list[str], str]:
    if prompts is None or isinstance(prompts, str):
        set_id = PROBE_SET if prompts is None else prompts
        chosen, label = prompt_set(set_id), set_id
    else:
        chosen, label = list(prompts), "custom"
        if not all(isinstance(p, str) for p in chosen):
            raise InvalidParameterError("prompts", "a sequence of str, a prompt-set id, or None", repr(prompts))
    if n_prompts is not None:
        if isinstance(n_prompts, bool) or not isinstance(n_prompts, int) or n_prompts < 1:
            raise InvalidParameterError("n_prompts", "an int >= 1 or None", repr(n_prompts))
        if n_prompts < len(chosen):
            chosen, label = chosen[:n_prompts], f"{label}[:{n_prompts}]"
    if not chosen:
        raise InvalidParameterError("prompts", "at least one prompt", "none")
    return chosen, label


def _vector_norm(vector: Any, layer: int) -> float:
    # deferred: imports torch only when a norm is measured; this module stays torch-free because
    # steering_core.plots.data imports it to draw and report recorded runs (steer plot, steer report)
    import torch

    from steering_core.vector import SteeringVector  # deferred: imports torch, as above

    if isinstance(vector, SteeringVector):
        return vector.norm(layer)
    if isinstance(vector, torch.Tensor):
        return float(torch.linalg.vector_norm(vector.detach().to(torch.float64)))
    raise InvalidParameterError("vector", "a SteeringVector or a 1-D torch.Tensor", type(vector).__name__)


def lens_eval(
    loaded_or_model: Any,
    tokenizer: Any | None = None,
    *,
    vector: Any,
    alpha: float,
    layer: int,
    prompts: Sequence[str] | str | None = None,
    n_prompts: int | None = None,
    max_new_tokens: int = 64,
    baseline_answers: Sequence[str] | None = None,
    style: str | None = None,
    residual_norm: float | None = None,
    batch_size: int = 8,
    lenses: LensSet | None = None,
    on_step: StepCallback | None = None,
) -> LensReport:
    """Lens scores of unhooked against steered greedy answers to the probe prompts.

    Args:
        loaded_or_model: a :class:`steering_core.models.LoadedModel`, or a model with ``tokenizer``.
        vector: a :class:`SteeringVector` holding ``layer``, or a raw 1-D tensor.
        alpha, layer: the steering step ``alpha * v`` added at decoder layer ``layer`` (all positions).
        prompts: None (``lens-probes-v1``), a shipped prompt-set id, or a list of prompts ("custom").
        n_prompts: keep only the first ``n_prompts`` (the set id gets a ``[:n]`` suffix).
        baseline_answers: unhooked answers already generated for these prompts (reused as is).
        style: label of the report; default the vector's ``style``, else ``"custom"``.
        residual_norm: median residual norm at ``layer`` for the ratio; None measures it on
            ``neutral-questions-v1`` (:func:`steering_core.diagnose.residual_norms`).

    Everything is validated before any generation: the steering configuration by entering and
    leaving :func:`steering_core.steer.steer` once. The baseline is generated with no hook; the
    steered answers through ``steer`` (:func:`steering_core.generate.steered_generate`), whose hooks
    are gone on return. ``alpha == 0`` installs nothing, so the steered answers equal the baseline.

    Raises:
        InvalidParameterError (and its subclasses from ``steer``): bad input, before generating.
    """
    # deferred: these import torch only when an eval runs; this module stays torch-free because
    # steering_core.plots.data imports it to draw and report recorded runs (steer plot, steer report)
    from steering_core.diagnose import residual_norms
    from steering_core.generate import generate, steered_generate
    from steering_core.models import LoadedModel
    from steering_core.ops import perturbation_ratio
    from steering_core.steer import steer

    if isinstance(loaded_or_model, LoadedModel):
        model, tokenizer = loaded_or_model.model, tokenizer or loaded_or_model.tokenizer
    else:
        model = loaded_or_model
    if tokenizer is None:
        raise InvalidParameterError("tokenizer", "the model's tokenizer", None)
    lm = LoadedModel(model=model, tokenizer=tokenizer)
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise InvalidParameterError("max_new_tokens", "an int >= 1", repr(max_new_tokens))
    if isinstance(layer, bool) or not isinstance(layer, int):
        raise InvalidParameterError("layer", "an int (one decoder layer)", repr(layer))
    chosen_prompts, label = _choose_prompts(prompts, n_prompts)
    lens_set = _lens_set(lenses)
    with steer(model, vector, alpha, layers=layer):
        pass  # validates vector, alpha and layer before minutes of generation
    vnorm = _vector_norm(vector, layer)
    if baseline_answers is not None:
        if isinstance(baseline_answers, str) or len(baseline_answers) != len(chosen_prompts):
            raise InvalidParameterError(
                "baseline_answers", f"{len(chosen_prompts)} answers (one per prompt)", repr(baseline_answers)[:80]
            )
        if not all(isinstance(a, str) for a in baseline_answers):
            raise InvalidParameterError("baseline_answers", "answers of type str", repr(baseline_answers)[:80])
    if residual_norm is None:
        residual_norm = residual_norms(lm, prompt_set(CALIBRATION_SET), [layer])[0].median_norm
    ratio = perturbation_ratio(alpha, vnorm, residual_norm)
    if baseline_answers is None:
        baseline = generate(lm, chosen_prompts, max_new_tokens, batch_size=batch_size, on_step=on_step)
    else:
        baseline = list(baseline_answers)
    steered = steered_generate(
        lm,
        vector,
        alpha,
        chosen_prompts,
        layers=layer,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        on_step=on_step,
    )
    label_style = style or getattr(vector, "style", None) or "custom"
    return compare_answers(
        baseline,
        steered,
        style=label_style,
        layer=layer,
        alpha=float(alpha),
        ratio=ratio,
        prompt_set=label,
        prompt_set_sha256=prompts_digest(chosen_prompts),
        max_new_tokens=max_new_tokens,
        lenses=lens_set,
    )


def lens_table(report: LensReport) -> Iterable[str]:
    """Plain-text table lines for terminals: lens, baseline %, band, steered %, band, change pp."""
    yield f"{'lens':<18} {'baseline %':>10} {'band':<9} {'steered %':>10} {'band':<9} {'change pp':>9}"
    yield "-" * 70
    for r in report.lenses:
        yield (
            f"{r.name:<18} {100 * r.baseline:>10.2f} {r.band_baseline:<9} {100 * r.steered:>10.2f} "
            f"{r.band_steered:<9} {100 * r.change:>+9.2f}"
        )
