"""The pre-registered criteria of the four style contracts, and what a criterion is.

:class:`Criterion`: one metric that must move, in one direction, by at least a minimum effect.
:data:`CRITERIA`, :data:`SEED_CHECKS` and :data:`DESCRIPTIONS` are fixed here, before any run
(the table in :mod:`contracts.style`). The verdict logic that reads them is
:mod:`steering_core.behaviour.contract`; the contracts at their calibrated (layer, alpha) are
built by :mod:`contracts.style`. This module imports neither, so both import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from steering_core.behaviour.metrics import metric
from steering_core.errors import InvalidParameterError

EffectKind = Literal["difference", "relative"]


@dataclass(frozen=True)
class Criterion:
    """One metric that must move: ``direction`` +1 (up) or -1 (down), by at least ``min_effect``.

    ``min_effect`` is in metric units for ``effect="difference"`` and a fraction for
    ``effect="relative"`` (0.4 = a 40% change of the mean).
    """

    metric: str
    direction: int
    min_effect: float
    effect: EffectKind = "difference"

    def __post_init__(self) -> None:
        metric(self.metric)  # raises on unknown names
        if self.direction not in (1, -1):
            raise InvalidParameterError("direction", "+1 (up) or -1 (down)", self.direction)
        if not self.min_effect > 0:
            raise InvalidParameterError("min_effect", "> 0", self.min_effect)
        if self.effect not in ("difference", "relative"):
            raise InvalidParameterError("effect", "'difference' or 'relative'", self.effect)

    def describe(self) -> str:
        """E.g. ``words down by >= 40%``."""
        way = "up" if self.direction > 0 else "down"
        amount = f"{self.min_effect:.0%}" if self.effect == "relative" else f"{self.min_effect:g}"
        return f"{self.metric} {way} by >= {amount}"


CRITERIA: dict[str, tuple[Criterion, ...]] = {
    "terse": (Criterion("words", -1, 0.40, "relative"),),
    "formal": (Criterion("formality", +1, 0.25),),
    "socratic": (Criterion("question_share", +1, 0.25),),
    "dry-wit": (Criterion("enthusiasm_rate", -1, 0.5),),
}
"""Each style's pre-registered criteria (metric, direction, minimum effect)."""
SEED_CHECKS = {"terse"}
"""The styles whose contract also requires the seed's five checks."""
DESCRIPTIONS = {
    "terse": "answers get much shorter",
    "formal": "longer words, fewer contractions, first/second-person pronouns and slang",
    "socratic": "more of the answer is questions",
    "dry-wit": "fewer exclamation marks and enthusiasm words",
}
"""What each style's contract asks of the answers, in words."""

POLES: dict[str, tuple[str, str]] = {
    "terse": ("terse, technical answers", "thorough, expansive answers"),
    "formal": ("formal academic prose", "casual chat"),
    "socratic": ("clarifying questions instead of answers", "direct answers"),
    "dry-wit": ("dry understatement", "warm enthusiasm"),
}
"""Each style's (positive, negative) pole in words, after the seed pair's two instructions."""
