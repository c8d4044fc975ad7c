"""Style metrics, the coherence guard and the paired statistics, on hand-made texts."""

from __future__ import annotations

import math

import pytest

from steering_core.behaviour import metrics as m
from steering_core.behaviour.stats import mean_difference, paired_bootstrap, relative_change, sign_test
from steering_core.behaviour.topic import MIN_ON_TOPIC_SHARE, guard, is_echo, key_stems, on_topic
from steering_core.errors import InvalidParameterError


def test_sentences_and_question_share() -> None:
    text = "Why? Because it is.\nWhat else?! Nothing."
    assert m.sentences(text) == ["Why?", "Because it is.", "What else?!", "Nothing."]
    assert m.question_share(text) == pytest.approx(1 / 4)  # "?!" ends with "!", not a question
    assert m.question_share("What is it? Is it blue?") == 1.0
    assert m.question_share("") == 0.0


def test_word_measures() -> None:
    assert m.word_total("Don't panic, it's fine.") == 4
    assert m.words_per_sentence("One two. Three four five six.") == pytest.approx(3.0)
    assert m.type_token_ratio("a a b b") == 0.5
    assert m.mean_word_length("ab abcd") == 3.0


def test_informal_markers_count_contractions_not_possessives() -> None:
    # "don't", "you", "it's" and "cool" count; "earth's" is a possessive and does not.
    text = "Don't worry, you know it's cool that the earth's tilt matters."
    ws = len(m.words(text))
    assert m.informal_rate(text) == pytest.approx(100 * 4 / ws)
    assert m.informal_rate("The earth's axis is tilted.") == 0.0


def test_formality_combines_length_and_markers() -> None:
    formal = "Consequently, thermodynamic equilibrium necessitates considerable deliberation."
    casual = "Yeah you gotta kinda chill, it's cool."
    assert m.formality(formal) > m.formality(casual)
    assert m.formality(casual) == pytest.approx(m.mean_word_length(casual) - m.informal_rate(casual) / 10)


def test_enthusiasm_and_exclamations() -> None:
    assert m.enthusiasm_rate("This is great! Amazing!") == pytest.approx(100 * 4 / 4)
    assert m.exclamation_rate("Wow!!") == pytest.approx(200.0)
    assert m.enthusiasm_rate("") == 0.0


def test_hedging() -> None:
    assert m.hedging_rate("It might perhaps rain") == pytest.approx(50.0)


def test_unknown_metric_is_a_typed_error() -> None:
    with pytest.raises(InvalidParameterError, match="metric"):
        m.metric("sparkle")


def test_key_stems_and_on_topic() -> None:
    assert key_stems("How does compound interest work?") == {"compo", "inter"}
    assert key_stems("Why is the sky blue?") == {"blue", "sky"}
    assert on_topic("Why is the sky blue?", "Rayleigh scattering makes the sky look that way.")
    assert not on_topic("Why is the sky blue?", "Alibaba Cloud. Alibaba Cloud.")


def test_echo() -> None:
    assert is_echo("Why is the sky blue?", "Why is the sky blue?")
    assert not is_echo("Why is the sky blue?", "The sky is blue because of scattering.")
    assert not is_echo("Why is the sky blue?", "")


def test_guard_pools_answers() -> None:
    qs = ["Why is the sky blue?"] * 4
    good = "Sunlight scatters off air molecules, and blue light scatters most, so the sky looks blue."
    assert guard(qs, [good] * 4).passed
    off = "Alibaba Cloud is a cloud provider."
    result = guard(qs, [good, good, good, off])
    assert result.on_topic_share == 0.75 and result.passed == (MIN_ON_TOPIC_SHARE <= 0.75)
    assert not guard(qs, [good, good, off, off]).passed
    looping = "blue " * 40
    assert guard(qs, [good, good, good, looping]).n_degenerate == 1
    assert not guard(qs, [good, good, good, looping]).passed
    with pytest.raises(InvalidParameterError):
        guard(qs, [good])


def test_bootstrap_is_deterministic_and_brackets_the_estimate() -> None:
    b = [60, 50, 70, 40, 55, 65, 45, 62]
    s = [15, 12, 30, 8, 20, 14, 10, 18]
    one = paired_bootstrap(b, s, relative_change, seed=3)
    two = paired_bootstrap(b, s, relative_change, seed=3)
    assert one == two
    assert one.low <= one.estimate <= one.high
    assert one.estimate == pytest.approx(sum(s) / sum(b) - 1)
    same = paired_bootstrap(b, b, mean_difference)
    assert same.estimate == same.low == same.high == 0.0


def test_bootstrap_rejects_bad_input() -> None:
    with pytest.raises(InvalidParameterError, match="steered"):
        paired_bootstrap([1.0, 2.0], [1.0], mean_difference)
    with pytest.raises(InvalidParameterError, match="level"):
        paired_bootstrap([1.0], [1.0], mean_difference, level=1.0)


def test_sign_test() -> None:
    moved, changed, p = sign_test([5, 5, 5, 5], [1, 1, 1, 9], direction=-1)
    assert (moved, changed) == (3, 4)
    assert p == pytest.approx(5 / 16)
    assert sign_test([1, 1], [1, 1], 1) == (0, 0, 1.0)
    assert math.isclose(sign_test([0] * 8, [1] * 8, 1)[2], 1 / 256)


def test_guard_does_not_blame_steering_for_baseline_degeneracy() -> None:
    qs = ["Why is the sky blue?"] * 4
    good = "Sunlight scatters off air molecules, and blue light scatters most, so the sky looks blue."
    looping = "the sky is blue because the sky is blue because the sky is blue " * 3
    steered = [good, good, good, looping]
    assert not guard(qs, steered).passed  # judged alone: one degenerate answer
    same_loop = guard(qs, steered, baseline=[good, good, good, looping])
    assert same_loop.passed and same_loop.n_degenerate == 0 and same_loop.n_degenerate_in_baseline == 1
    new_loop = guard(qs, steered, baseline=[good] * 4)
    assert not new_loop.passed and new_loop.n_degenerate == 1
    with pytest.raises(InvalidParameterError, match="baseline"):
        guard(qs, steered, baseline=[good])
