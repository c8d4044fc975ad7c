"""Paired statistics over prompts: bootstrap confidence bounds and the exact sign test.

Both treat the prompts as the sampling unit: baseline and steered values are paired by prompt.
The bootstrap is deterministic for a given seed (``numpy.random.default_rng(seed)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from steering_core.errors import InvalidParameterError

EffectFn = Callable[[np.ndarray, np.ndarray], float]


def mean_difference(baseline: np.ndarray, steered: np.ndarray) -> float:
    """``mean(steered) - mean(baseline)``."""
    return float(np.mean(steered) - np.mean(baseline))


def relative_change(baseline: np.ndarray, steered: np.ndarray) -> float:
    """``mean(steered) / mean(baseline) - 1`` (NaN when the baseline mean is 0)."""
    base = float(np.mean(baseline))
    return float(np.mean(steered)) / base - 1.0 if base != 0.0 else float("nan")


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided bootstrap interval at level ``level``."""

    estimate: float
    low: float
    high: float
    level: float
    n_resamples: int
    seed: int


def paired_bootstrap(
    baseline: Sequence[float],
    steered: Sequence[float],
    effect: EffectFn,
    n_resamples: int = 4000,
    level: float = 0.90,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap of ``effect`` over prompts resampled with replacement (pairs kept).

    With ``level=0.90`` the low end is a one-sided 95% lower confidence bound.

    Pre: equal, non-zero lengths; ``0 < level < 1``; ``n_resamples >= 100``.
    """
    b = np.asarray(baseline, dtype=np.float64)
    s = np.asarray(steered, dtype=np.float64)
    if b.shape != s.shape or b.ndim != 1 or b.size == 0:
        raise InvalidParameterError("steered", f"{b.size} values paired with the baseline", s.size)
    if not 0.0 < level < 1.0:
        raise InvalidParameterError("level", "0 < level < 1", level)
    if n_resamples < 100:
        raise InvalidParameterError("n_resamples", ">= 100", n_resamples)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, b.size, size=(n_resamples, b.size))
    stats = np.array([effect(b[row], s[row]) for row in idx])
    stats = stats[np.isfinite(stats)]
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(stats, [tail, 1.0 - tail]) if stats.size else (float("nan"), float("nan"))
    return Interval(effect(b, s), float(low), float(high), level, n_resamples, seed)


def sign_test(baseline: Sequence[float], steered: Sequence[float], direction: int) -> tuple[int, int, float]:
    """Exact one-sided sign test that steered moves in ``direction`` (+1 up, -1 down).

    Returns ``(n_moved, n_nonzero, p_value)``: prompts that moved in the direction, prompts
    whose value changed at all (ties dropped), and ``P(X >= n_moved)`` for X ~ Bin(n_nonzero, 1/2).
    """
    if direction not in (1, -1):
        raise InvalidParameterError("direction", "+1 or -1", direction)
    diffs = [direction * (s - b) for b, s in zip(baseline, steered, strict=True)]
    moved = sum(d > 0 for d in diffs)
    nonzero = sum(d != 0 for d in diffs)
    p = sum(math.comb(nonzero, k) for k in range(moved, nonzero + 1)) / 2**nonzero if nonzero else 1.0
    return moved, nonzero, p
