"""Text measures used by diagnostics: word counts and degeneracy (collapse) detection.

A word is a maximal run of letters or digits, with inner apostrophes (``don't`` is one word).

An answer is *degenerate* when any of these hold (thresholds are module constants):

* empty: no letter or digit at all;
* character run: one character repeated ``MAX_CHAR_RUN`` or more times in a row ("2222...");
* low diversity: with at least ``MIN_WORDS_FOR_RATIOS`` words, distinct words / words
  below ``MIN_DISTINCT_RATIO``;
* looping: with at least ``MIN_WORDS_FOR_RATIOS`` words, the most frequent word 3-gram
  covers more than ``MAX_TRIGRAM_SHARE`` of all 3-gram positions.
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import pairwise

WORD_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
MAX_CHAR_RUN = 16
MIN_WORDS_FOR_RATIOS = 12
MIN_DISTINCT_RATIO = 0.3
MAX_TRIGRAM_SHARE = 0.25


def words(text: str) -> list[str]:
    """The words of ``text`` in order, lower-cased."""
    return [w.lower() for w in WORD_RE.findall(text)]


def word_count(text: str) -> int:
    """Number of words in ``text``."""
    return len(WORD_RE.findall(text))


def degeneracy(text: str) -> str | None:
    """The reason ``text`` is degenerate, or None when it is not (see the module docstring)."""
    if not any(ch.isalnum() for ch in text):
        return "empty"
    run = 1
    for prev, cur in pairwise(text):
        run = run + 1 if cur == prev and not cur.isspace() else 1
        if run >= MAX_CHAR_RUN:
            return f"character {cur!r} repeated {MAX_CHAR_RUN}+ times"
    ws = words(text)
    if len(ws) >= MIN_WORDS_FOR_RATIOS:
        ratio = len(set(ws)) / len(ws)
        if ratio < MIN_DISTINCT_RATIO:
            return f"distinct-word ratio {ratio:.2f} < {MIN_DISTINCT_RATIO}"
        trigrams = list(zip(ws, ws[1:], ws[2:], strict=False))
        top = Counter(trigrams).most_common(1)[0][1]
        share = top / len(trigrams)
        if share > MAX_TRIGRAM_SHARE:
            return f"one 3-gram covers {share:.0%} of the text (looping)"
    return None


def is_degenerate(text: str) -> bool:
    """True when :func:`degeneracy` finds a reason."""
    return degeneracy(text) is not None
