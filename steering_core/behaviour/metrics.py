"""Per-answer style measures: the numbers the behavioural contracts are made of.

Every function takes one answer (plain text) and returns a float; none of them look at the
question. Words are :func:`steering_core.text.words` (runs of letters/digits with inner
apostrophes, lower-cased). Rates are *per 100 words* so answers of different lengths compare;
an answer with no words has rate 0. Sentences are split after ``.``, ``!`` or ``?`` (runs of
them count once) or at line breaks; a sentence needs at least one word.

The vocabularies are fixed module constants (versioned by :data:`METRICS_VERSION`), so a
recorded result names exactly what it counted.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from steering_core.text import WORD_RE, words

METRICS_VERSION = "style-metrics-v1"

_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")


def vocabulary(text: str) -> frozenset[str]:
    """The space-separated words of ``text`` as a set."""
    return frozenset(text.split())


# n't, 're, 've, 'll, 'd, 'm always; 's only after pronoun-like words (not possessives: "earth's").
CONTRACTION_RE = re.compile(
    r"^(?:[a-z]+['’](?:t|re|ve|ll|d|m)|(?:it|that|there|here|what|he|she|let|who|where|how)['’]s)$"
)
FIRST_SECOND_PERSON = vocabulary("i me my mine myself we us our ours ourselves you your yours yourself yourselves")
SLANG = vocabulary(
    "gonna wanna gotta kinda sorta yeah yep nope hey cool awesome stuff guys folks ok okay lol btw "
    "basically totally super pretty dude tons bunch"
)
HEDGES = vocabulary(
    "maybe perhaps possibly probably might could likely unlikely seems seem apparently arguably "
    "somewhat generally typically usually often sometimes roughly approximately"
)
ENTHUSIASM = vocabulary(
    "great amazing awesome exciting excited fantastic wonderful love lovely happy glad delighted "
    "absolutely incredible incredibly brilliant thrilled enjoy fun marvelous terrific superb "
    "wow remarkable beautiful"
)


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` (pieces with at least one word), stripped."""
    return [s.strip() for s in _SENTENCE_SPLIT.split(text) if s and WORD_RE.search(s)]


def _rate(count: int, n_words: int) -> float:
    return 100.0 * count / n_words if n_words else 0.0


def word_total(text: str) -> float:
    """Number of words (the terse metric)."""
    return float(len(words(text)))


def words_per_sentence(text: str) -> float:
    """Mean words per sentence (0 for a text with no sentence)."""
    parts = sentences(text)
    return sum(len(words(s)) for s in parts) / len(parts) if parts else 0.0


def type_token_ratio(text: str) -> float:
    """Distinct words / words (1.0 for a text with no words)."""
    ws = words(text)
    return len(set(ws)) / len(ws) if ws else 1.0


def hedging_rate(text: str) -> float:
    """Hedge words (:data:`HEDGES`) per 100 words."""
    ws = words(text)
    return _rate(sum(w in HEDGES for w in ws), len(ws))


def exclamation_rate(text: str) -> float:
    """Exclamation marks per 100 words."""
    return _rate(text.count("!"), len(words(text)))


def informal_rate(text: str) -> float:
    """Informality markers per 100 words: contractions, first/second-person pronouns and slang."""
    ws = words(text)
    count = sum(1 for w in ws if CONTRACTION_RE.match(w) or w in FIRST_SECOND_PERSON or w in SLANG)
    return _rate(count, len(ws))


def mean_word_length(text: str) -> float:
    """Mean characters per word (0 for a text with no words)."""
    ws = words(text)
    return sum(len(w) for w in ws) / len(ws) if ws else 0.0


def formality(text: str) -> float:
    """Formality score: mean word length minus informality markers per 10 words.

    ``mean_word_length - informal_rate / 10``: longer words raise it; each contraction,
    first/second-person pronoun or slang word per 10 words costs one character of mean length.
    """
    return mean_word_length(text) - informal_rate(text) / 10.0


def question_share(text: str) -> float:
    """Share of sentences that are questions (end with ``?``); 0 for a text with no sentence."""
    parts = sentences(text)
    return sum(s.rstrip().endswith("?") for s in parts) / len(parts) if parts else 0.0


def enthusiasm_rate(text: str) -> float:
    """Enthusiasm markers per 100 words: exclamation marks plus :data:`ENTHUSIASM` words."""
    ws = words(text)
    return _rate(text.count("!") + sum(w in ENTHUSIASM for w in ws), len(ws))


METRICS: dict[str, Callable[[str], float]] = {
    "words": word_total,
    "words_per_sentence": words_per_sentence,
    "type_token_ratio": type_token_ratio,
    "hedging_rate": hedging_rate,
    "exclamation_rate": exclamation_rate,
    "informal_rate": informal_rate,
    "mean_word_length": mean_word_length,
    "formality": formality,
    "question_share": question_share,
    "enthusiasm_rate": enthusiasm_rate,
}


def metric(name: str) -> Callable[[str], float]:
    """The metric function called ``name`` (see :data:`METRICS`).

    Raises:
        InvalidParameterError: unknown name (the message lists the known ones).
    """
    from steering_core.errors import InvalidParameterError

    if name not in METRICS:
        raise InvalidParameterError("metric", f"one of {sorted(METRICS)}", repr(name))
    return METRICS[name]
