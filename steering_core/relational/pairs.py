"""Sampling word pairs per relation: fixed seed, single-token words first, bounded repetition.

:func:`sample_pairs` takes a relation's candidate pairs (sorted, from
:func:`steering_core.relational.wordnet.relation_pairs`), shuffles them with
``random.Random(seed)`` and keeps pairs greedily, in that order, such that every source word is
used once and every target word at most ``max_per_target`` times (so a handful of targets such as
``person`` cannot dominate a relation). Pairs whose two words are each one token of the model's
tokenizer (written with a leading space, as they appear in the template) are taken first; only
when there are fewer than ``n`` of them are multi-token pairs added, in the same order.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from steering_core.errors import InvalidParameterError


@dataclass(frozen=True)
class Sample:
    """The pairs chosen for one relation and how many of them are single-token on both sides."""

    relation: str
    pairs: tuple[tuple[str, str], ...]
    n_single_token: int
    n_candidates: int


def single_token_checker(tokenizer: Any) -> Callable[[str], bool]:
    """``word -> True`` when ``" " + word`` is one token of ``tokenizer`` (no special tokens)."""
    cache: dict[str, bool] = {}

    def check(word: str) -> bool:
        if word not in cache:
            cache[word] = len(tokenizer.encode(" " + word, add_special_tokens=False)) == 1
        return cache[word]

    return check


def _greedy(
    ordered: Sequence[tuple[str, str]], n: int, max_per_target: int, used_sources: set[str], targets: dict[str, int]
) -> list[tuple[str, str]]:
    chosen: list[tuple[str, str]] = []
    for source, target in ordered:
        if len(chosen) == n:
            break
        if source in used_sources or targets.get(target, 0) >= max_per_target:
            continue
        used_sources.add(source)
        targets[target] = targets.get(target, 0) + 1
        chosen.append((source, target))
    return chosen


def sample_pairs(
    relation: str,
    candidates: Sequence[tuple[str, str]],
    n: int,
    seed: int,
    is_single_token: Callable[[str], bool],
    max_per_target: int = 3,
) -> Sample:
    """``n`` pairs of ``relation`` (see the module docstring); deterministic for given inputs.

    Raises:
        InvalidParameterError: ``n`` or ``max_per_target`` < 1, or fewer than ``n`` pairs qualify.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidParameterError("n", "an int >= 1", repr(n))
    if isinstance(max_per_target, bool) or not isinstance(max_per_target, int) or max_per_target < 1:
        raise InvalidParameterError("max_per_target", "an int >= 1", repr(max_per_target))
    ordered = list(candidates)
    random.Random(seed).shuffle(ordered)
    single = [p for p in ordered if is_single_token(p[0]) and is_single_token(p[1])]
    multi = [p for p in ordered if not (is_single_token(p[0]) and is_single_token(p[1]))]
    used: set[str] = set()
    targets: dict[str, int] = {}
    chosen = _greedy(single, n, max_per_target, used, targets)
    n_single = len(chosen)
    if len(chosen) < n:
        chosen += _greedy(multi, n - len(chosen), max_per_target, used, targets)
    if len(chosen) < n:
        raise InvalidParameterError(
            "n", f"at most {len(chosen)} pairs for {relation} (max_per_target={max_per_target})", n
        )
    return Sample(relation, tuple(chosen), n_single, len(candidates))
