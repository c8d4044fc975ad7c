"""Reliability measures: anti-steerable fraction and split-half agreement (pure functions)."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from steering_core.behaviour.reliability import (
    anti_steerable,
    directed_effects,
    spearman,
    split_half_agreement,
    split_halves,
)
from steering_core.errors import InvalidParameterError


def test_anti_steerable_counts_right_wrong_and_ties() -> None:
    base = [1.0, 2.0, 3.0, 4.0, 5.0]
    steered = [2.0, 1.0, 3.0, 6.0, 5.5]  # +1, -1, 0, +2, +0.5
    up = anti_steerable(base, steered, +1)
    assert (up.n, up.n_right, up.n_wrong, up.n_tied) == (5, 3, 1, 1)
    assert up.fraction == 1 / 5 and up.wrong_share_of_moved == 1 / 4
    down = anti_steerable(base, steered, -1)
    assert (down.n_right, down.n_wrong, down.n_tied) == (1, 3, 1)
    tolerant = anti_steerable(base, steered, +1, tol=0.5)
    assert (tolerant.n_right, tolerant.n_wrong, tolerant.n_tied) == (2, 1, 2)
    none_moved = anti_steerable([1, 1], [1, 1], +1)
    assert none_moved.fraction == 0.0 and math.isnan(none_moved.wrong_share_of_moved)
    assert none_moved.to_dict()["wrong_share_of_moved"] is None


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(InvalidParameterError):
        anti_steerable([1, 2], [1], +1)
    with pytest.raises(InvalidParameterError):
        anti_steerable([1], [1], 0)
    with pytest.raises(InvalidParameterError):
        anti_steerable([1], [float("nan")], 1)
    with pytest.raises(InvalidParameterError):
        anti_steerable([1], [2], 1, tol=-1)
    with pytest.raises(InvalidParameterError):
        split_halves(["only one"])
    with pytest.raises(InvalidParameterError):
        split_half_agreement(["a", "b", "c"], [[1.0, 2.0]])


def test_directed_effects_sign() -> None:
    assert directed_effects([1, 2], [3, 1], -1).tolist() == [-2.0, 1.0]


def test_split_halves_are_balanced_disjoint_and_order_independent() -> None:
    questions = [f"question number {i}?" for i in range(13)]
    a, b = split_halves(questions)
    assert sorted(a + b) == list(range(13)) and abs(len(a) - len(b)) <= 1
    shuffled = questions[:]
    random.Random(3).shuffle(shuffled)
    sa, _ = split_halves(shuffled)
    assert {shuffled[i] for i in sa} == {questions[i] for i in a}


def test_spearman_hand_examples() -> None:
    assert spearman([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    # with a tie: ranks of x are 0..3, ranks of y are [0, 2.5, 2.5, 1] (average ranks); Pearson of the ranks
    x, y = [1, 2, 3, 4], [1, 3, 3, 2]
    rx, ry = np.array([0, 1, 2, 3]) - 1.5, np.array([0, 2.5, 2.5, 1]) - 1.5
    assert spearman(x, y) == pytest.approx(float((rx * ry).sum() / math.sqrt((rx**2).sum() * (ry**2).sum())))
    assert math.isnan(spearman([1, 2], [1, 2])) and math.isnan(spearman([1, 1, 1], [1, 2, 3]))


def test_split_half_agreement_on_a_consistent_and_an_inconsistent_effect() -> None:
    questions = [f"q{i}" for i in range(10)]
    alphas = [0.5, 1.0, 2.0, 4.0]
    consistent = np.array([[a * (1 + 0.1 * i) for i in range(10)] for a in alphas])
    result = split_half_agreement(questions, consistent, alphas)
    assert result.sign_agreement == 1.0 and result.spearman == pytest.approx(1.0)
    assert 0.5 < result.size_ratio <= 1.0
    _, b_idx = split_halves(questions)
    flipped = consistent.copy()
    flipped[:, b_idx] *= -1  # half B moves the other way
    bad = split_half_agreement(questions, flipped, alphas)
    assert bad.sign_agreement == 0.0 and bad.spearman == pytest.approx(-1.0)
    single = split_half_agreement(questions, consistent[1])
    assert single.sign_agreement == 1.0 and math.isnan(single.spearman) and single.alphas == (0.0,)
    assert single.to_dict()["spearman"] is None
    zeros = split_half_agreement(questions, np.zeros((1, 10)))
    assert zeros.sign_agreement == 1.0 and zeros.size_ratio == 1.0
