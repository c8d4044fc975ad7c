"""The one sweep-cell schema: phases, how a cell's answers are judged, how thresholds are read.

Torch-free (it needs only :mod:`steering_core.text`), so the figures
(:mod:`steering_core.plots.data`) read recorded cells with the same names and rules as the
live sweep (:mod:`steering_core.sweep`, which re-exports everything here) and the certificate's
alpha cells (:mod:`steering_core.certify.measure`).

* the phases (:data:`PHASES`): ``dead`` (every steered answer equals its baseline answer token
  for token), ``collapse`` (at least :data:`COLLAPSE_SHARE` of the steered answers are
  degenerate, see :func:`steering_core.text.is_degenerate`), ``effective`` otherwise;
* :func:`judge` / :func:`classify`: a cell's :class:`Judgement` (``mean_words``,
  ``n_degenerate``, ``n_identical``, ``n_answers``, ``phase``);
* :class:`CellCounts`: the recorded fields every cell type shares;
* :func:`layer_thresholds`: a layer's :class:`Thresholds`, read off its cells sorted by ``|alpha|``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from steering_core.text import is_degenerate, word_count

Phase = Literal["dead", "effective", "collapse"]
PHASES: tuple[Phase, ...] = ("dead", "effective", "collapse")
COLLAPSE_SHARE = 0.5


class PhasePoint(Protocol):
    """Anything with an ``alpha`` and the ``phase`` measured there (every sweep cell type)."""

    @property
    def alpha(self) -> float: ...

    @property
    def phase(self) -> str: ...


@dataclass(frozen=True, kw_only=True)
class Judgement:
    """Steered answers judged against the baseline answers (see :func:`judge`).

    ``mean_words``: mean :func:`~steering_core.text.word_count` of the steered answers;
    ``n_degenerate`` / ``n_identical``: how many are degenerate / token-for-token identical to
    the baseline; ``n_answers``: how many there are; ``phase``: one of :data:`PHASES`.
    """

    mean_words: float
    n_degenerate: int
    n_identical: int
    n_answers: int
    phase: Phase


@dataclass(frozen=True, kw_only=True)
class CellCounts:
    """The recorded fields every sweep cell type has: where it was steered and what came out.

    ``layer``: the steered layer; ``alpha``: the coefficient; ``ratio``: the perturbation ratio
    ``|alpha| * ||v|| / median residual norm``; ``mean_words``, ``n_degenerate``, ``n_identical``:
    as in :class:`Judgement`. :class:`steering_core.sweep.SweepCell` (a live sweep) and
    :class:`steering_core.plots.data.CellData` (read from recorded JSON) extend it.
    """

    layer: int
    alpha: float
    ratio: float
    mean_words: float
    n_degenerate: int
    n_identical: int


@dataclass(frozen=True, kw_only=True)
class Thresholds:
    """Phase boundaries for one layer (None where the sweep saw no such cell)."""

    layer: int
    dead_max: float | None
    effective_min: float | None
    effective_max: float | None
    collapse_min: float | None


def layer_thresholds(layer: int, cells: Iterable[PhasePoint]) -> Thresholds:
    """The phase boundaries of one layer's cells, read off their alphas sorted by ``|alpha|``.

    ``dead_max``: the last alpha of the leading run of dead cells; ``effective_min`` /
    ``effective_max``: the effective alphas of smallest / largest ``|alpha|``;
    ``collapse_min``: the collapsing alpha of smallest ``|alpha|``; ``None`` where no cell has
    that phase.
    """
    ordered = sorted(cells, key=lambda c: abs(c.alpha))
    dead_max = None
    for cell in ordered:
        if cell.phase != "dead":
            break
        dead_max = cell.alpha
    effective = [c.alpha for c in ordered if c.phase == "effective"]
    collapsed = [c.alpha for c in ordered if c.phase == "collapse"]
    return Thresholds(
        layer=layer,
        dead_max=dead_max,
        effective_min=min(effective, key=abs) if effective else None,
        effective_max=max(effective, key=abs) if effective else None,
        collapse_min=min(collapsed, key=abs) if collapsed else None,
    )


def judge(baseline: Sequence[str], answers: Sequence[str]) -> Judgement:
    """The :class:`Judgement` of steered ``answers`` (non-empty) against the ``baseline`` answers."""
    phase, n_degenerate, n_identical = classify(baseline, answers)
    mean_words = sum(word_count(a) for a in answers) / len(answers)
    return Judgement(
        mean_words=mean_words, n_degenerate=n_degenerate, n_identical=n_identical, n_answers=len(answers), phase=phase
    )


def classify(baseline: Sequence[str], steered: Sequence[str]) -> tuple[Phase, int, int]:
    """``(phase, n_degenerate, n_identical)`` of steered answers against the baseline."""
    n_identical = sum(1 for b, s in zip(baseline, steered, strict=True) if b == s)
    n_degenerate = sum(1 for s in steered if is_degenerate(s))
    if n_degenerate >= COLLAPSE_SHARE * len(steered):
        return "collapse", n_degenerate, n_identical
    if n_identical == len(steered):
        return "dead", n_degenerate, n_identical
    return "effective", n_degenerate, n_identical
