"""Metric validation: does a style metric separate hand-labelled texts of the two poles?

The labelled texts live in ``steering_core/data/behaviour/validation/<style>.jsonl``: one JSON object per line
with ``text`` (a non-empty string), ``pole`` (``"positive"`` or ``"negative"``) and an optional
``note``. They were written by hand as answers of one to six sentences to everyday questions.

**Split (fixed, deterministic).** Within each pole, in file order, the text with 0-based index
``i`` is *held out* when ``i % 3 == 2`` and a *design* text otherwise: a third of each pole is
held out. Metrics are designed on the design texts only; the held-out AUC is the honest one.

**AUC.** :func:`mann_whitney_auc` is the Mann-Whitney estimate of ``P(score(pos) > score(neg))``
with ties counted one half: ``(#{pos > neg} + 0.5 #{pos == neg}) / (n_pos n_neg)`` over all
pairs, computed exactly from integer counts. 1.0 = perfect separation with the positive pole
scoring higher, 0.5 = chance. Scores are oriented (:func:`steering_core.behaviour.metrics.style_score`)
so that the positive pole should score higher.

**Requirement.** A style metric is *valid* when its AUC is at least :data:`MIN_AUC` (0.9) on the
held-out texts **and** on all texts. A metric that fails is replaced, never the threshold lowered.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from steering_core.behaviour.metrics import STYLE_METRICS, style_metric, style_score
from steering_core.errors import InvalidParameterError
from steering_core.resources import data_path

VALIDATION_DIR = data_path("behaviour", "validation")
MIN_AUC = 0.9
MIN_PER_POLE = 40
HOLD_OUT_EVERY = 3  # index % 3 == 2 within a pole is held out
MAX_FILE_BYTES = 2_000_000
MAX_LINES = 5000
MAX_TEXT_CHARS = 4000
POLES: tuple[str, ...] = ("positive", "negative")
_KEYS = frozenset({"text", "pole", "note"})

Split = Literal["design", "held_out", "all"]


class LabelledSetError(InvalidParameterError):
    """A labelled-text file breaks the format; ``parameter`` names the line and field (``line 7: pole``)."""


@dataclass(frozen=True)
class LabelledText:
    """One hand-labelled text; ``index`` is its 0-based position within its pole (file order)."""

    text: str
    pole: str
    index: int
    note: str = ""

    @property
    def held_out(self) -> bool:
        """True for the held-out third (``index % 3 == 2``)."""
        return self.index % HOLD_OUT_EVERY == HOLD_OUT_EVERY - 1


@dataclass(frozen=True)
class LabelledSet:
    """The labelled texts of one style."""

    style: str
    texts: tuple[LabelledText, ...]
    sha256: str
    source: str

    def select(self, pole: str, split: Split = "all") -> list[str]:
        """The texts of ``pole`` in ``split`` (``design``, ``held_out`` or ``all``), file order."""
        if pole not in POLES:
            raise InvalidParameterError("pole", f"one of {POLES}", repr(pole))
        if split not in ("design", "held_out", "all"):
            raise InvalidParameterError("split", "'design', 'held_out' or 'all'", repr(split))
        return [
            t.text for t in self.texts if t.pole == pole and (split == "all" or t.held_out == (split == "held_out"))
        ]


def mann_whitney_auc(positive: Sequence[float], negative: Sequence[float]) -> float:
    """Exact Mann-Whitney AUC: ``(#{p > n} + #{p == n} / 2) / (len(positive) * len(negative))``.

    Pre: both non-empty, all values finite. O((n + m) log m).
    """
    pos = [float(x) for x in positive]
    neg = sorted(float(x) for x in negative)
    if not pos or not neg:
        raise InvalidParameterError("scores", "at least one score per pole", f"{len(pos)} / {len(neg)}")
    if any(x != x or x in (float("inf"), float("-inf")) for x in pos + neg):
        raise InvalidParameterError("scores", "finite numbers", "NaN or inf")
    twice = 0  # 2 * (wins + ties / 2), an integer
    for x in pos:
        below = bisect.bisect_left(neg, x)
        ties = bisect.bisect_right(neg, x) - below
        twice += 2 * below + ties
    return twice / (2 * len(pos) * len(neg))


def validation_path(style: str, directory: Path | None = None) -> Path:
    """``<directory>/<style>.jsonl`` (default: ``steering_core/data/behaviour/validation``)."""
    if not isinstance(style, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]*", style):
        raise InvalidParameterError("style", "a style name of lower-case letters, digits and '-'", repr(style))
    return (directory or VALIDATION_DIR) / f"{style}.jsonl"


def parse_labelled(lines: Sequence[str], style: str, sha256: str = "", source: str = "<lines>") -> LabelledSet:
    """Validate labelled-text lines (blank lines are skipped); see the module docstring."""
    if len(lines) > MAX_LINES:
        raise LabelledSetError("lines", f"at most {MAX_LINES} lines", f"{len(lines)}")
    counts = {p: 0 for p in POLES}
    seen: set[str] = set()
    out: list[LabelledText] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LabelledSetError(f"line {n}", "a JSON object", str(exc)) from None
        if not isinstance(item, dict):
            raise LabelledSetError(f"line {n}", "a JSON object", type(item).__name__)
        unknown = sorted(set(item) - _KEYS)
        if unknown:
            raise LabelledSetError(f"line {n}: {unknown[0]}", f"one of {sorted(_KEYS)}", "an unknown key")
        text, pole, note = item.get("text"), item.get("pole"), item.get("note", "")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT_CHARS:
            raise LabelledSetError(
                f"line {n}: text", f"a non-empty string of at most {MAX_TEXT_CHARS} characters", repr(text)[:80]
            )
        if pole not in POLES:
            raise LabelledSetError(f"line {n}: pole", f"one of {POLES}", repr(pole))
        if not isinstance(note, str):
            raise LabelledSetError(f"line {n}: note", "a string", repr(note)[:80])
        if text in seen:
            raise LabelledSetError(f"line {n}: text", "a text not already in the file", "a duplicate")
        seen.add(text)
        out.append(LabelledText(text, str(pole), counts[str(pole)], note))
        counts[str(pole)] += 1
    for pole, count in counts.items():
        if count < MIN_PER_POLE:
            raise LabelledSetError(pole, f"at least {MIN_PER_POLE} {pole} texts", f"{count}")
    return LabelledSet(style, tuple(out), sha256, source)


def load_labelled(style: str, directory: Path | None = None) -> LabelledSet:
    """Load and validate the labelled texts of ``style``.

    Raises:
        LabelledSetError: missing file (``parameter="style"``), too large, or a bad line.
    """
    path = validation_path(style, directory)
    if not path.is_file():
        raise LabelledSetError("style", f"a style with labelled texts in {path.parent}", repr(style))
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise LabelledSetError(str(path), f"a file of at most {MAX_FILE_BYTES} bytes", f"{size} bytes")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LabelledSetError(str(path), "a UTF-8 file", str(exc)) from None
    return parse_labelled(text.splitlines(), style, hashlib.sha256(raw).hexdigest(), str(path))


@dataclass(frozen=True)
class MetricValidation:
    """The AUC of one oriented style metric on one style's labelled texts."""

    style: str
    metric: str
    auc_design: float
    auc_held_out: float
    auc_all: float
    n_positive: int
    n_negative: int
    labelled_sha256: str

    @property
    def passed(self) -> bool:
        """AUC >= MIN_AUC on the held-out texts and on all texts."""
        return self.auc_held_out >= MIN_AUC and self.auc_all >= MIN_AUC

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "style": self.style,
            "metric": self.metric,
            "auc_design": self.auc_design,
            "auc_held_out": self.auc_held_out,
            "auc_all": self.auc_all,
            "min_auc": MIN_AUC,
            "passed": self.passed,
            "n_positive": self.n_positive,
            "n_negative": self.n_negative,
            "split": f"held out: index % {HOLD_OUT_EVERY} == {HOLD_OUT_EVERY - 1} within each pole",
            "labelled_sha256": self.labelled_sha256,
        }


def validate_metric(
    style: str,
    score: Callable[[str], float] | None = None,
    metric_name: str | None = None,
    labelled: LabelledSet | None = None,
) -> MetricValidation:
    """AUCs of ``score`` (default: the style's registered oriented metric) on ``style``'s labelled texts."""
    if score is None:
        sm = style_metric(style)
        score, metric_name = sm.score, sm.describe()
    data = labelled if labelled is not None else load_labelled(style)

    def auc(split: Split) -> float:
        pos = [score(t) for t in data.select("positive", split)]
        neg = [score(t) for t in data.select("negative", split)]
        return mann_whitney_auc(pos, neg)

    return MetricValidation(
        style,
        metric_name or str(getattr(score, "__name__", "custom")),
        auc("design"),
        auc("held_out"),
        auc("all"),
        len(data.select("positive")),
        len(data.select("negative")),
        data.sha256,
    )


def validate_all(styles: Sequence[str] | None = None) -> list[MetricValidation]:
    """:func:`validate_metric` for every style with a registered metric (or ``styles``)."""
    return [validate_metric(s) for s in (styles if styles is not None else list(STYLE_METRICS))]


def pole_medians(style: str, labelled: LabelledSet | None = None) -> tuple[float, float]:
    """Median oriented score of the labelled (positive, negative) texts of ``style``."""
    data = labelled if labelled is not None else load_labelled(style)
    pos = statistics.median(style_score(style, t) for t in data.select("positive"))
    neg = statistics.median(style_score(style, t) for t in data.select("negative"))
    return float(pos), float(neg)


def room(style: str, direction: str, answers: Sequence[str], labelled: LabelledSet | None = None) -> float:
    """How much of the pole gap the mean answer leaves to move in ``direction``.

    With ``P`` and ``N`` the median oriented scores of the labelled positive and negative texts
    and ``m`` the mean oriented score of ``answers``: ``(P - m) / (P - N)`` for ``positive``
    (+alpha must raise the score) and ``(m - N) / (P - N)`` for ``negative``. 1 = the answers sit
    at the opposite pole (full room), 0 = already at the target pole, < 0 = beyond it. Unitless.

    Pre: ``answers`` non-empty; the labelled medians differ (``P > N`` for a valid metric).
    """
    if direction not in ("positive", "negative"):
        raise InvalidParameterError("direction", "'positive' or 'negative'", repr(direction))
    if isinstance(answers, str) or not answers:
        raise InvalidParameterError("answers", "a non-empty sequence of answers", repr(answers)[:80])
    p, n = pole_medians(style, labelled)
    if not p > n:
        raise InvalidParameterError(
            "style", "a metric whose positive-pole median exceeds the negative one", f"{p} <= {n}"
        )
    m = sum(style_score(style, a) for a in answers) / len(answers)
    return (p - m) / (p - n) if direction == "positive" else (m - n) / (p - n)


def markdown_table(results: Sequence[MetricValidation]) -> str:
    """The AUC table (design / held-out / all) as markdown."""
    lines = [
        "| style | metric | AUC design | AUC held-out | AUC all | n per pole | valid (>= 0.9) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r.style} | {r.metric} | {r.auc_design:.3f} | {r.auc_held_out:.3f} | {r.auc_all:.3f} "
            f"| {r.n_positive}/{r.n_negative} | {'yes' if r.passed else 'NO'} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m steering_core.behaviour.validation [--json]``: print the AUC table; exit 1 if a metric fails."""
    args = list(sys.argv[1:] if argv is None else argv)
    results = validate_all()
    if "--json" in args:
        print(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        print(markdown_table(results))
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
