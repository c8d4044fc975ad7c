"""The seed's text metrics, restated precisely (our code, the seed's definitions).

* :func:`topic_cosine`: cosine of the raw word-count vectors of two texts (words = lower-cased
  ``\\w+`` runs). The seed calls it "TF-IDF cosine" but weights by term frequency only; so do we.
  0.0 when either text has no word.
* :func:`markdown_density`: markdown markers per 100 whitespace-separated words, markers being
  ``**``, ``##``, a code fence and a list item (``- `` at the start of a line). 0.0 for an
  empty text.
* :func:`text_cross_entropy`: mean next-token cross-entropy (nats) of a text under a model
  (no chat template, as the seed scored it); the seed's "perplexity ratio" is the ratio of two
  of these, steered answer over baseline answer.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import torch

_WORDS = re.compile(r"\w+")
_MARKDOWN = re.compile(r"\*\*|##|```|(?m:^- )")


def topic_cosine(a: str, b: str) -> float:
    """Cosine of the word-count vectors of ``a`` and ``b`` (see the module docstring)."""
    ca, cb = Counter(_WORDS.findall(a.lower())), Counter(_WORDS.findall(b.lower()))
    if not ca or not cb:
        return 0.0
    dot = sum(n * cb.get(w, 0) for w, n in ca.items())
    return dot / (math.sqrt(sum(n * n for n in ca.values())) * math.sqrt(sum(n * n for n in cb.values())))


def mean_topic_cosine(answers: Sequence[str], references: Sequence[str]) -> float:
    """Mean :func:`topic_cosine` over aligned answer/reference pairs."""
    if len(answers) != len(references) or not answers:
        raise ValueError("answers and references must be non-empty and aligned")
    return sum(topic_cosine(a, b) for a, b in zip(answers, references, strict=True)) / len(answers)


def markdown_density(text: str) -> float:
    """Markdown markers per 100 words (see the module docstring)."""
    n_words = len(text.split())
    return 100.0 * len(_MARKDOWN.findall(text)) / n_words if n_words else 0.0


@torch.no_grad()
def text_cross_entropy(model: Any, tokenizer: Any, text: str) -> float | None:
    """Mean next-token cross-entropy of ``text`` under ``model`` (None when it has fewer than 2 tokens)."""
    ids = tokenizer(text, return_tensors="pt", add_special_tokens=False).input_ids
    if ids.shape[1] < 2:
        return None
    device = next(model.parameters()).device
    logits = model(input_ids=ids.to(device), use_cache=False).logits[0, :-1].to(torch.float64)
    return float(torch.nn.functional.cross_entropy(logits, ids[0, 1:].to(device)))


def cross_entropy_ratio(model: Any, tokenizer: Any, steered: Sequence[str], baseline: Sequence[str]) -> float:
    """Mean over prompts of CE(steered answer) / CE(baseline answer); prompts where either is undefined are skipped.

    0.0 when no prompt has both (an answer of fewer than 2 tokens has no cross-entropy).
    """
    ratios = []
    for s, b in zip(steered, baseline, strict=True):
        ce_s, ce_b = text_cross_entropy(model, tokenizer, s), text_cross_entropy(model, tokenizer, b)
        if ce_s is not None and ce_b is not None and ce_b > 0:
            ratios.append(ce_s / ce_b)
    return sum(ratios) / len(ratios) if ratios else 0.0
