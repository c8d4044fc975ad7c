"""Per-direction question sets: questions on which the unsteered answer has room to move.

``steering_core/data/behaviour/questions/<style>_<direction>.json`` (schema :data:`SCHEMA`) holds, for one
style and one direction (``positive``: +alpha, toward the positive pole; ``negative``: -alpha,
toward the negative pole), questions whose unsteered answers sit away from that pole, so the
style metric can move the required way (for dry-wit/positive: good-news messages that draw
enthusiasm; for socratic/positive: questions with one direct answer). Fields::

    {"schema": "steering-spec/style-questions/1", "style": "dry-wit", "direction": "positive",
     "version": "dry-wit-positive-v1", "toward": "...", "rationale": "...",
     "search": [...], "held_out": [...]}

``search`` is for choosing a recipe (layer, alpha, contrast set, ...); ``held_out`` is for the
verdict only and must never be looked at while choosing. Both halves hold at least
:data:`MIN_PER_HALF` distinct, non-empty questions; no question is in both halves.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from steering_core.behaviour.metrics import style_metric
from steering_core.errors import InvalidParameterError
from steering_core.resources import data_path

SCHEMA = "steering-spec/style-questions/1"
QUESTIONS_DIR = data_path("behaviour", "questions")
DIRECTIONS: tuple[str, ...] = ("positive", "negative")
MIN_PER_HALF = 6
MAX_PER_HALF = 200
MAX_QUESTION_CHARS = 2000
MAX_FILE_BYTES = 1_000_000
_KEYS = frozenset({"schema", "style", "direction", "version", "toward", "rationale", "search", "held_out"})

Direction = Literal["positive", "negative"]
Half = Literal["search", "held_out", "all"]


class QuestionSetError(InvalidParameterError):
    """A question-set file breaks the schema; ``parameter`` names the field."""


@dataclass(frozen=True)
class QuestionSet:
    """A validated question set for one style and direction."""

    style: str
    direction: str
    version: str
    toward: str
    rationale: str
    search: tuple[str, ...]
    held_out: tuple[str, ...]
    sha256: str
    source: str

    @property
    def sign(self) -> int:
        """+1 for the positive direction (+alpha), -1 for the negative one (-alpha)."""
        return 1 if self.direction == "positive" else -1

    @property
    def metric_direction(self) -> int:
        """The way the style's *raw* metric must move (for a ``Criterion``): metric sign x direction sign.

        E.g. terse/positive: ``words`` (sign -1) x +1 = -1, words must go down.
        """
        return style_metric(self.style).sign * self.sign

    def questions(self, half: Half = "held_out") -> list[str]:
        """The ``search`` half, the ``held_out`` half, or ``all`` (search first)."""
        if half == "search":
            return list(self.search)
        if half == "held_out":
            return list(self.held_out)
        if half == "all":
            return list(self.search + self.held_out)
        raise InvalidParameterError("half", "'search', 'held_out' or 'all'", repr(half))


def questions_path(style: str, direction: str, directory: Path | None = None) -> Path:
    """``<directory>/<style>_<direction>.json`` (default: ``steering_core/data/behaviour/questions``)."""
    if not isinstance(style, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]*", style):
        raise InvalidParameterError("style", "a style name of lower-case letters, digits and '-'", repr(style))
    if direction not in DIRECTIONS:
        raise InvalidParameterError("direction", f"one of {DIRECTIONS}", repr(direction))
    return (directory or QUESTIONS_DIR) / f"{style}_{direction}.json"


def _half(value: object, field: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not MIN_PER_HALF <= len(value) <= MAX_PER_HALF:
        got = f"{len(value)} items" if isinstance(value, list) else repr(value)[:80]
        raise QuestionSetError(field, f"an array of {MIN_PER_HALF}..{MAX_PER_HALF} questions", got)
    for i, q in enumerate(value):
        if not isinstance(q, str) or not q.strip() or len(q) > MAX_QUESTION_CHARS:
            raise QuestionSetError(
                f"{field}[{i}]", f"a non-empty string of at most {MAX_QUESTION_CHARS} characters", repr(q)[:80]
            )
    if len(set(value)) != len(value):
        raise QuestionSetError(field, "distinct questions", "a repeated question")
    return tuple(value)


def parse_question_set(
    data: Any, expected: tuple[str, str] | None = None, sha256: str = "", source: str = "<mapping>"
) -> QuestionSet:
    """Validate a parsed question-set document (``expected``: the (style, direction) it must name)."""
    if not isinstance(data, dict):
        raise QuestionSetError("document", "a JSON object", type(data).__name__)
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise QuestionSetError(unknown[0], f"one of {sorted(_KEYS)}", "an unknown key")
    if data.get("schema") != SCHEMA:
        raise QuestionSetError("schema", repr(SCHEMA), repr(data.get("schema"))[:80])
    texts: dict[str, str] = {}
    for key in ("style", "direction", "version", "toward", "rationale"):
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise QuestionSetError(key, "a non-empty string", repr(value)[:80])
        texts[key] = value
    if texts["direction"] not in DIRECTIONS:
        raise QuestionSetError("direction", f"one of {DIRECTIONS}", repr(texts["direction"]))
    if expected is not None and (texts["style"], texts["direction"]) != expected:
        raise QuestionSetError("style", f"style/direction {expected}", repr((texts["style"], texts["direction"])))
    search = _half(data.get("search"), "search")
    held = _half(data.get("held_out"), "held_out")
    shared = sorted(set(search) & set(held))
    if shared:
        raise QuestionSetError("held_out", "questions not in the search half", repr(shared[0]))
    return QuestionSet(
        texts["style"], texts["direction"], texts["version"], texts["toward"], texts["rationale"],
        search, held, sha256, source,
    )  # fmt: skip


def load_question_set(style: str, direction: str, directory: Path | None = None) -> QuestionSet:
    """Load and validate the question set of ``style`` and ``direction``.

    Raises:
        QuestionSetError: missing file (``parameter="style"``), too large, not JSON, or a schema
            rule broken (``parameter`` names the field).
    """
    path = questions_path(style, direction, directory)
    if not path.is_file():
        raise QuestionSetError("style", f"a style with a {direction} question set in {path.parent}", repr(style))
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise QuestionSetError(str(path), f"a file of at most {MAX_FILE_BYTES} bytes", f"{size} bytes")
    raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise QuestionSetError(str(path), "a UTF-8 JSON file", str(exc)) from None
    return parse_question_set(data, (style, direction), hashlib.sha256(raw).hexdigest(), str(path))


def question_sets(directory: Path | None = None) -> list[tuple[str, str]]:
    """Every (style, direction) with a question-set file, sorted."""
    folder = directory or QUESTIONS_DIR
    out: list[tuple[str, str]] = []
    for p in sorted(folder.glob("*_*.json")) if folder.is_dir() else []:
        style, _, direction = p.stem.rpartition("_")
        if direction in DIRECTIONS:
            out.append((style, direction))
    return out
