"""Reliability of a steering effect over questions: anti-steerable fraction and split-half agreement.

Pure functions on arrays; nothing here runs a model.

**Per-question effect.** For question ``i`` with baseline metric value ``b_i`` and steered
value ``s_i`` (the same metric, e.g. an oriented style score), and the required direction
``sign`` (+1: the metric must go up, -1: down), the directed effect is
``e_i = sign * (s_i - b_i)``: positive = moved the required way.

**Anti-steerable fraction** (after Tan et al., arXiv 2407.12404): the share of questions whose
directed effect is negative, ``n_wrong / n``. A question with ``|e_i| <= tol`` is a *tie*
(counted separately in ``n_tied``, neither right nor wrong; ``tol = 0`` by default, so only exact
ties: most metrics are discrete). ``wrong_share_of_moved = n_wrong / (n_right + n_wrong)`` is
also reported (NaN when nothing moved).

**Split-half agreement.** The questions are split deterministically into two halves that do not
depend on their order: sort them by the sha256 of their UTF-8 text (ties broken by position) and
put ranks 0, 2, 4, ... in half A and 1, 3, 5, ... in half B. For each alpha ``k`` the mean directed
effect of each half is ``mA[k]``, ``mB[k]``. Reported:

* ``sign_agreement``: the share of alphas where ``sign(mA[k]) == sign(mB[k])`` (``numpy.sign``;
  0 matches only 0). With one alpha it is 1.0 or 0.0: do both halves move the same way?
* ``spearman``: Spearman rank correlation of ``mA`` and ``mB`` over the alphas (average ranks
  for ties); NaN with fewer than 3 alphas or when either half is constant across alphas. Do both
  halves order the alphas the same way (the dose-response shape replicates)?
* ``size_ratio``: ``min(|mA|, |mB|) / max(|mA|, |mB|)`` averaged over alphas (1 = equal sizes,
  0 = one half does not move; alphas where both are 0 count as 1).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from steering_core.errors import InvalidParameterError


def _vector(values: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise InvalidParameterError(name, "a non-empty 1-D sequence of numbers", f"shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise InvalidParameterError(name, "finite numbers", "NaN or inf")
    return arr


def _sign(sign: int) -> int:
    if sign not in (1, -1) or isinstance(sign, bool):
        raise InvalidParameterError("sign", "+1 (metric must go up) or -1 (down)", repr(sign))
    return sign


def directed_effects(baseline: Sequence[float], steered: Sequence[float], sign: int) -> np.ndarray:
    """``sign * (steered - baseline)`` per question (positive = the required way)."""
    b, s = _vector(baseline, "baseline"), _vector(steered, "steered")
    if b.shape != s.shape:
        raise InvalidParameterError("steered", f"{b.size} values paired with the baseline", s.size)
    out: np.ndarray = _sign(sign) * (s - b)
    return out


@dataclass(frozen=True)
class AntiSteerable:
    """Counts of questions that moved the required way, the wrong way, or not at all."""

    n: int
    n_right: int
    n_wrong: int
    n_tied: int

    @property
    def fraction(self) -> float:
        """``n_wrong / n``: the anti-steerable fraction."""
        return self.n_wrong / self.n

    @property
    def wrong_share_of_moved(self) -> float:
        """``n_wrong / (n_right + n_wrong)``; NaN when no question moved."""
        moved = self.n_right + self.n_wrong
        return self.n_wrong / moved if moved else float("nan")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN becomes None)."""
        share = self.wrong_share_of_moved
        return {
            "n": self.n,
            "n_right": self.n_right,
            "n_wrong": self.n_wrong,
            "n_tied": self.n_tied,
            "anti_steerable_fraction": self.fraction,
            "wrong_share_of_moved": None if math.isnan(share) else share,
        }


def anti_steerable(baseline: Sequence[float], steered: Sequence[float], sign: int, tol: float = 0.0) -> AntiSteerable:
    """Classify each question's directed effect (see the module docstring); ``tol >= 0``."""
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol >= 0):
        raise InvalidParameterError("tol", "a finite number >= 0", repr(tol))
    e = directed_effects(baseline, steered, sign)
    tied = np.abs(e) <= tol
    right = (e > 0) & ~tied
    wrong = (e < 0) & ~tied
    return AntiSteerable(int(e.size), int(right.sum()), int(wrong.sum()), int(tied.sum()))


def split_halves(questions: Sequence[str]) -> tuple[list[int], list[int]]:
    """Indices of half A and half B (see the module docstring); needs at least 2 questions."""
    if isinstance(questions, str) or len(questions) < 2:
        raise InvalidParameterError("questions", "a sequence of at least 2 questions", repr(questions)[:80])
    for i, q in enumerate(questions):
        if not isinstance(q, str):
            raise InvalidParameterError(f"questions[{i}]", "a string", type(q).__name__)
    order = sorted(range(len(questions)), key=lambda i: (hashlib.sha256(questions[i].encode("utf-8")).hexdigest(), i))
    return sorted(order[0::2]), sorted(order[1::2])


def _ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(x.size, dtype=np.float64)
    sorted_x = x[order]
    i = 0
    while i < x.size:
        j = i
        while j + 1 < x.size and sorted_x[j + 1] == sorted_x[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0
        i = j + 1
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman rank correlation (average ranks for ties); NaN for < 3 points or a constant input."""
    a, b = _vector(x, "x"), _vector(y, "y")
    if a.shape != b.shape:
        raise InvalidParameterError("y", f"{a.size} values", b.size)
    if a.size < 3:
        return float("nan")
    ra, rb = _ranks(a), _ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = math.sqrt(float((ra * ra).sum() * (rb * rb).sum()))
    return float((ra * rb).sum() / denom) if denom > 0 else float("nan")


@dataclass(frozen=True)
class SplitHalf:
    """Split-half agreement of the mean directed effect over alphas."""

    half_a: tuple[int, ...]
    half_b: tuple[int, ...]
    alphas: tuple[float, ...]
    mean_a: tuple[float, ...]
    mean_b: tuple[float, ...]
    sign_agreement: float
    spearman: float
    size_ratio: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN becomes None)."""
        return {
            "half_a": list(self.half_a),
            "half_b": list(self.half_b),
            "alphas": list(self.alphas),
            "mean_effect_a": list(self.mean_a),
            "mean_effect_b": list(self.mean_b),
            "sign_agreement": self.sign_agreement,
            "spearman": None if math.isnan(self.spearman) else self.spearman,
            "size_ratio": self.size_ratio,
            "split": "sha256(question) order, alternate ranks",
        }


def split_half_agreement(
    questions: Sequence[str], effects: Sequence[Sequence[float]] | np.ndarray, alphas: Sequence[float] | None = None
) -> SplitHalf:
    """Agreement between the two halves of ``questions`` (see the module docstring).

    ``effects`` has shape ``(n_alphas, n_questions)``: the directed effect of each question at
    each alpha (a 1-D sequence is one alpha). ``alphas`` labels the rows (default 0, 1, ...).
    """
    e = np.asarray(effects, dtype=np.float64)
    if e.ndim == 1:
        e = e[None, :]
    if e.ndim != 2 or e.shape[1] != len(questions) or e.shape[0] == 0:
        raise InvalidParameterError("effects", f"shape (n_alphas, {len(questions)})", f"shape {e.shape}")
    if not np.isfinite(e).all():
        raise InvalidParameterError("effects", "finite numbers", "NaN or inf")
    labels = tuple(float(a) for a in alphas) if alphas is not None else tuple(float(k) for k in range(e.shape[0]))
    if len(labels) != e.shape[0]:
        raise InvalidParameterError("alphas", f"{e.shape[0]} labels (one per row of effects)", len(labels))
    a_idx, b_idx = split_halves(questions)
    ma, mb = e[:, a_idx].mean(axis=1), e[:, b_idx].mean(axis=1)
    agree = float(np.mean(np.sign(ma) == np.sign(mb)))
    big = np.maximum(np.abs(ma), np.abs(mb))
    ratio = np.where(big > 0, np.minimum(np.abs(ma), np.abs(mb)) / np.where(big > 0, big, 1.0), 1.0)
    rho = spearman(ma, mb) if e.shape[0] >= 3 else float("nan")
    return SplitHalf(
        tuple(a_idx),
        tuple(b_idx),
        labels,
        tuple(float(x) for x in ma),
        tuple(float(x) for x in mb),
        agree,
        rho,
        float(ratio.mean()),
    )
