"""Version-2 style metrics: clarifying_share, dry_wit_score and the oriented style scores."""

from __future__ import annotations

import pytest

from steering_core.behaviour.metrics import (
    METRICS,
    STYLE_METRICS,
    clarifying_share,
    dry_markers,
    dry_wit_score,
    enthusiasm_markers,
    style_metric,
    style_score,
)
from steering_core.errors import InvalidParameterError
from steering_core.styles import SEED_STYLES


def test_clarifying_share_counts_genuine_questions_only() -> None:
    assert clarifying_share("Which version? What error do you see?") == 1.0
    assert clarifying_share("Paris. Is there anything else you would like to know?") == 0.0
    assert clarifying_share("Why does ice float? Because it is less dense.") == 0.0
    assert clarifying_share("It depends. What is your budget?") == 0.5
    assert clarifying_share("") == 0.0


def test_dry_wit_score_is_signed_with_neutral_near_zero() -> None:
    enthusiastic = "Congratulations!! That's amazing news! You've got this!"
    dry = "A puppy. Bold. Expect to sleep less, mildly."
    neutral = "To descale a kettle, boil a mix of vinegar and water, leave it for an hour and rinse it."
    assert dry_wit_score(enthusiastic) < 0 < dry_wit_score(dry)
    assert dry_wit_score(neutral) == 0.0
    assert dry_wit_score("") == 0.0
    assert enthusiasm_markers("Great job! 🎉") == 4  # '!', great, 'great job', emoji
    assert dry_markers("Marriage. Fine, on the whole.") == 2  # fragment + phrase


def test_dry_wit_score_counts_curly_apostrophes_like_straight_ones() -> None:
    assert enthusiasm_markers("You’ve got this") == enthusiasm_markers("You've got this") == 1


@pytest.mark.parametrize("style", list(SEED_STYLES))
def test_every_seed_style_has_an_oriented_metric(style: str) -> None:
    sm = style_metric(style)
    assert sm.metric in METRICS and sm.sign in (1, -1)
    text = "A short answer. Another sentence here?"
    assert style_score(style, text) == sm.sign * METRICS[sm.metric](text)
    assert sm.describe().lstrip("+-") == sm.metric


def test_unknown_style_is_refused() -> None:
    with pytest.raises(InvalidParameterError):
        style_metric("pirate")
    assert set(STYLE_METRICS) == set(SEED_STYLES)


def test_numbered_list_markers_are_not_deadpan_fragments() -> None:
    listed = (
        "To descale a kettle, follow these steps:\n\n1. **Fill it**: add vinegar and water.\n2. **Boil**: then rinse."
    )
    assert dry_markers(listed) == 0
    assert dry_markers("Fine. 2.") == 1
