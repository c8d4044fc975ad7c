"""Relational geometry of word pairs: offset consistency, a shuffled-pair permutation test, a probe.

Shapes: ``source`` and ``target`` activations are ``(n_pairs, n_layers, hidden)``; the *offset*
of pair ``i`` at layer ``l`` is ``target[i, l] - source[i, l]`` (e.g. ``animal - dog``). All
statistics are computed in float64.

* :func:`consistency`: the mean pairwise cosine of the ``n`` offsets at each layer,
  ``(||sum_i u_i||^2 - n) / (n (n - 1))`` with ``u_i`` the unit offsets (zero offsets count as
  zero vectors) -- the seed's "direction stability", computed exactly without the ``n^2`` loop.
* :func:`permutation_test`: the same statistic for *shuffled* pairs (each source paired with the
  target of another pair of the same relation, one random permutation per draw, the same
  permutation at every layer). The shuffled pairs keep everything the two word *sets* share (a
  target set that is more abstract, more frequent, another part of speech) and lose only the
  pairing, so ``real - mean(shuffled)`` is what the relation itself adds. One-sided p-value
  ``(1 + #{shuffled >= real}) / (1 + n_permutations)``.
* :func:`mean_direction_cosines`: cosine between the mean offsets of two relations per layer.
* :func:`probe_accuracy`: held-out accuracy of a linear probe (a ridge-regression classifier on
  one-hot targets, closed form, penalty ``l2 * d`` on standardised features) that predicts the
  relation type from an offset (stratified k-fold, standardised on the training folds only,
  fixed seed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from steering_core.errors import InvalidParameterError


def _check_pairs(source: torch.Tensor, target: torch.Tensor) -> None:
    if source.ndim != 3 or source.shape != target.shape:
        raise InvalidParameterError(
            "source/target",
            "two tensors of the same shape (n_pairs, n_layers, hidden)",
            f"{tuple(source.shape)} and {tuple(target.shape)}",
        )
    if source.shape[0] < 2:
        raise InvalidParameterError("n_pairs", "at least 2 pairs", source.shape[0])
    if not (torch.isfinite(source).all() and torch.isfinite(target).all()):
        raise InvalidParameterError("source/target", "finite activations", "NaN or inf")


def _unit(x: torch.Tensor) -> torch.Tensor:
    norms = torch.linalg.vector_norm(x, dim=-1, keepdim=True)
    return torch.where(norms > 0, x / norms.clamp(min=torch.finfo(x.dtype).tiny), torch.zeros_like(x))


def mean_pairwise_cosine(offsets: torch.Tensor) -> torch.Tensor:
    """Mean cosine over the ``n (n - 1) / 2`` pairs of rows, per layer: ``(n, L, d) -> (L,)`` float64."""
    n = offsets.shape[0]
    if n < 2:
        raise InvalidParameterError("offsets", "at least 2 rows", n)
    unit = _unit(offsets.to(torch.float64))
    summed = unit.sum(dim=0)  # (L, d)
    self_terms = (unit * unit).sum(dim=(0, 2))  # n, or fewer when some offsets are zero
    return ((summed * summed).sum(dim=-1) - self_terms) / (n * (n - 1))


def consistency(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean pairwise cosine of the offsets ``target - source`` at every layer: ``(L,)`` float64."""
    _check_pairs(source, target)
    return mean_pairwise_cosine(target.to(torch.float64) - source.to(torch.float64))


@dataclass(frozen=True)
class PermutationResult:
    """Per layer: the real consistency, the shuffled-pair mean and SD, and the one-sided p-value."""

    real: list[float]
    shuffled_mean: list[float]
    shuffled_sd: list[float]
    p_value: list[float]
    n_permutations: int

    @property
    def excess(self) -> list[float]:
        """``real - shuffled_mean`` per layer (what the pairing adds)."""
        return [r - s for r, s in zip(self.real, self.shuffled_mean, strict=True)]


def _derangement(n: int, generator: torch.Generator) -> torch.Tensor:
    """A random permutation of ``range(n)`` with no fixed point (rejection sampling; n >= 2)."""
    while True:
        perm = torch.randperm(n, generator=generator)
        if not bool((perm == torch.arange(n)).any()):
            return perm


def permutation_test(source: torch.Tensor, target: torch.Tensor, n_permutations: int, seed: int) -> PermutationResult:
    """Real offset consistency against shuffled pairings (see the module docstring).

    Each draw is a derangement of the targets (no pair keeps its own target), applied at every
    layer. Cost: ``n_permutations`` times one pass over ``(n, L, d)``.

    Raises:
        InvalidParameterError: shapes differ, fewer than 2 pairs, non-finite input, or
            ``n_permutations`` < 1.
    """
    _check_pairs(source, target)
    if isinstance(n_permutations, bool) or not isinstance(n_permutations, int) or n_permutations < 1:
        raise InvalidParameterError("n_permutations", "an int >= 1", repr(n_permutations))
    src, tgt = source.to(torch.float64), target.to(torch.float64)
    real = mean_pairwise_cosine(tgt - src)
    generator = torch.Generator().manual_seed(seed)
    draws = torch.stack(
        [mean_pairwise_cosine(tgt[_derangement(src.shape[0], generator)] - src) for _ in range(n_permutations)]
    )  # (B, L)
    exceed = (draws >= real.unsqueeze(0)).sum(dim=0).to(torch.float64)
    p_value = (1.0 + exceed) / (1.0 + n_permutations)
    sd = draws.std(dim=0, unbiased=True) if n_permutations > 1 else torch.zeros_like(real)
    return PermutationResult(real.tolist(), draws.mean(dim=0).tolist(), sd.tolist(), p_value.tolist(), n_permutations)


def mean_direction_cosines(offsets_a: torch.Tensor, offsets_b: torch.Tensor) -> list[float]:
    """Cosine between the mean offsets of two relations at each layer: ``(n_a, L, d), (n_b, L, d) -> [L]``."""
    if offsets_a.ndim != 3 or offsets_b.ndim != 3 or offsets_a.shape[1:] != offsets_b.shape[1:]:
        raise InvalidParameterError("offsets", "(n, L, d) tensors with the same L and d", "other shapes")
    a = offsets_a.to(torch.float64).mean(dim=0)
    b = offsets_b.to(torch.float64).mean(dim=0)
    denom = torch.linalg.vector_norm(a, dim=-1) * torch.linalg.vector_norm(b, dim=-1)
    cos = torch.where(denom > 0, (a * b).sum(dim=-1) / denom.clamp(min=1e-300), torch.zeros_like(denom))
    return [float(c) for c in cos]


def stratified_folds(labels: Sequence[int], k: int, seed: int) -> list[list[int]]:
    """``k`` disjoint index lists covering ``range(len(labels))``, each class spread evenly (seeded)."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise InvalidParameterError("k", "an int >= 2", repr(k))
    generator = torch.Generator().manual_seed(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    for cls in sorted(set(labels)):
        members = [i for i, y in enumerate(labels) if y == cls]
        if len(members) < k:
            raise InvalidParameterError("labels", f"at least k={k} examples of every class", f"{len(members)} of {cls}")
        order = torch.randperm(len(members), generator=generator).tolist()
        for rank, position in enumerate(order):
            folds[rank % k].append(members[position])
    return [sorted(f) for f in folds]


def _fit_predict(
    x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor, n_classes: int, l2: float
) -> torch.Tensor:
    """Ridge-regression classifier (one-hot targets, closed form in the dual, features standardised on train)."""
    mean = x_train.mean(dim=0, keepdim=True)
    std = x_train.std(dim=0, keepdim=True).clamp(min=1e-8)
    xs, xt = (x_train - mean) / std, (x_test - mean) / std
    onehot = torch.nn.functional.one_hot(y_train, n_classes).to(torch.float64)
    targets = onehot - onehot.mean(dim=0, keepdim=True)
    gram = xs @ xs.T  # (n_train, n_train): the dual is cheaper than the primal when d > n
    penalty = l2 * xs.shape[1]
    dual = torch.linalg.solve(gram + penalty * torch.eye(gram.shape[0], dtype=gram.dtype), targets)
    predicted: torch.Tensor = (xt @ (xs.T @ dual)).argmax(dim=1)
    return predicted


def probe_accuracy(features: torch.Tensor, labels: Sequence[int], k: int = 5, seed: int = 0, l2: float = 1.0) -> float:
    """Held-out accuracy (pooled over ``k`` stratified folds) of a linear probe ``features -> labels``.

    ``features`` is ``(N, d)``; ``labels`` are class indices ``0..C-1``. Every example is predicted
    exactly once, by a probe that never saw it.

    Raises:
        InvalidParameterError: shapes disagree, fewer than 2 classes, or a class has fewer than k examples.
    """
    if features.ndim != 2 or features.shape[0] != len(labels):
        raise InvalidParameterError("features", "(N, d) with N = len(labels)", tuple(features.shape))
    classes = sorted(set(labels))
    if len(classes) < 2 or classes != list(range(len(classes))):
        raise InvalidParameterError("labels", "class indices 0..C-1 with C >= 2", classes)
    x = features.to(torch.float64)
    y = torch.tensor(list(labels), dtype=torch.long)
    correct = 0
    for fold in stratified_folds(list(labels), k, seed):
        test = torch.tensor(fold, dtype=torch.long)
        mask = torch.ones(len(labels), dtype=torch.bool)
        mask[test] = False
        predicted = _fit_predict(x[mask], y[mask], x[test], len(classes), l2)
        correct += int((predicted == y[test]).sum())
    return correct / len(labels)
