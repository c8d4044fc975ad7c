"""The coherence guard: is a steered answer a usable, on-topic answer to its question?

An answer is *coherent* for its question when all of these hold:

* it is not degenerate (:func:`steering_core.text.degeneracy`: empty, character runs, looping,
  low word diversity);
* it is **on topic**: it contains at least one of the question's *key stems*, the first
  :data:`STEM_LENGTH` letters of the question's content words (not in :data:`STOPWORDS`) of at
  least 4 letters; when fewer than two such words exist, content words of 3 letters count too.
  "How does compound interest work?" has ``compo`` and ``inter``; "Why is the sky blue?" has
  ``blue`` and ``sky``;
* it is **not an echo**: an answer whose words all occur in the question (the model repeating
  the question back, seen at high alpha) is not an answer.

:func:`guard` pools this over a set of answers: it passes when no answer is degenerate and at
least :data:`MIN_ON_TOPIC_SHARE` of them are on topic and not echoes.

Given the unhooked ``baseline`` answers to the same questions, the guard judges the *steering*:
an answer counts as degenerate only when the baseline's answer to that question is not (the
embedded model loops on its own on some questions: unsteered, its 96-token answer to "What
causes the seasons on Earth?" has a distinct-word ratio of 0.26). Degeneracy the baseline already
has is reported (``n_degenerate_in_baseline``) but does not fail the guard.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from steering_core.behaviour.metrics import vocabulary
from steering_core.errors import InvalidParameterError
from steering_core.text import degeneracy, words

STEM_LENGTH = 5
MIN_ON_TOPIC_SHARE = 0.75
STOPWORDS = vocabulary(
    "a an and are as at be been being but by can could did do does doing for from had has have how "
    "i if in into is it its of on or our so than that the their them then there these they this "
    "those to was we were what when where which while who whom why will with would you your "
    "explain describe tell about work works difference between keep need needs used use"
)


def key_stems(question: str) -> frozenset[str]:
    """The question's key stems (see the module docstring)."""
    content = [w for w in words(question) if w not in STOPWORDS]
    long_words = [w for w in content if len(w) >= 4]
    chosen = long_words if len(long_words) >= 2 else [w for w in content if len(w) >= 3]
    return frozenset(w[:STEM_LENGTH] for w in chosen)


def on_topic(question: str, answer: str) -> bool:
    """True when the answer contains at least one key stem of the question."""
    stems = key_stems(question)
    if not stems:
        return True  # nothing to check against
    return any(w[:STEM_LENGTH] in stems for w in words(answer))


def is_echo(question: str, answer: str) -> bool:
    """True when every word of a non-empty answer also occurs in the question."""
    ans = words(answer)
    return bool(ans) and set(ans) <= set(words(question))


@dataclass(frozen=True)
class AnswerCheck:
    """The guard's verdict on one answer."""

    degenerate: str | None
    on_topic: bool
    echo: bool

    @property
    def coherent(self) -> bool:
        """Not degenerate, on topic, and not an echo."""
        return self.degenerate is None and self.on_topic and not self.echo


@dataclass(frozen=True)
class GuardResult:
    """The guard over a set of answers (``inherited[i]``: the baseline answer i was degenerate too)."""

    checks: tuple[AnswerCheck, ...]
    inherited: tuple[bool, ...] = ()

    def _inherited(self, i: int) -> bool:
        return bool(self.inherited) and self.inherited[i]

    @property
    def n_degenerate(self) -> int:
        """Answers that are degenerate where the baseline answer is not (all of them without a baseline)."""
        return sum(c.degenerate is not None and not self._inherited(i) for i, c in enumerate(self.checks))

    @property
    def n_degenerate_in_baseline(self) -> int:
        """Degenerate answers whose baseline answer was degenerate too (not counted against steering)."""
        return sum(c.degenerate is not None and self._inherited(i) for i, c in enumerate(self.checks))

    @property
    def on_topic_share(self) -> float:
        """Share of answers that are on topic and not echoes."""
        return sum(c.on_topic and not c.echo for c in self.checks) / len(self.checks) if self.checks else 1.0

    @property
    def passed(self) -> bool:
        """No degenerate answer and at least MIN_ON_TOPIC_SHARE on topic."""
        return self.n_degenerate == 0 and self.on_topic_share >= MIN_ON_TOPIC_SHARE

    def to_dict(self) -> dict[str, object]:
        """JSON-ready summary."""
        return {
            "passed": self.passed,
            "n_answers": len(self.checks),
            "n_degenerate": self.n_degenerate,
            "n_degenerate_in_baseline": self.n_degenerate_in_baseline,
            "baseline_given": bool(self.inherited),
            "on_topic_share": self.on_topic_share,
            "min_on_topic_share": MIN_ON_TOPIC_SHARE,
            "reasons": [c.degenerate for c in self.checks if c.degenerate is not None],
        }


def check_answer(question: str, answer: str) -> AnswerCheck:
    """The guard's verdict on one answer to ``question``."""
    return AnswerCheck(degeneracy(answer), on_topic(question, answer), is_echo(question, answer))


def guard(questions: Sequence[str], answers: Sequence[str], baseline: Sequence[str] | None = None) -> GuardResult:
    """Check every answer against its question (same order, same length).

    With ``baseline`` (the unhooked answers, same order), degeneracy the baseline answer already
    has is not counted against the steered answer (see the module docstring).
    """
    if len(questions) != len(answers):
        raise InvalidParameterError("answers", f"{len(questions)} answers (one per question)", len(answers))
    if baseline is not None and len(baseline) != len(answers):
        raise InvalidParameterError("baseline", f"{len(answers)} answers (one per question)", len(baseline))
    checks = tuple(check_answer(q, a) for q, a in zip(questions, answers, strict=True))
    inherited = tuple(degeneracy(b) is not None for b in baseline) if baseline is not None else ()
    return GuardResult(checks, inherited)
