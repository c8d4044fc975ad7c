"""Per-answer style measures: the numbers the behavioural contracts are made of.

Every function takes one answer (plain text) and returns a float; none of them look at the
question. Words are :func:`steering_core.text.words` (runs of letters/digits with inner
apostrophes, lower-cased). Rates are *per 100 words* so answers of different lengths compare;
an answer with no words has rate 0. Sentences are split after ``.``, ``!`` or ``?`` (runs of
them count once) or at line breaks; a sentence needs at least one word.

The vocabularies are fixed module constants (versioned by :data:`METRICS_VERSION`), so a
recorded result names exactly what it counted.

**Style scores** (:data:`STYLE_METRICS`, :func:`style_score`): for each seed style one metric and
an orientation sign, so that ``style_score(style, text)`` is a *signed scale* on which the
positive pole scores higher: +alpha must move it up and -alpha down. Each was validated on
hand-labelled texts (:mod:`steering_core.behaviour.validation`, AUC >= 0.9 on held-out texts):

| style | metric | sign | unit |
| --- | --- | --- | --- |
| terse | ``words`` | -1 | words (fewer = terser) |
| formal | ``formality`` | +1 | characters per word minus informal markers per 10 words |
| socratic | ``clarifying_share`` | +1 | share of sentences that are genuine questions, 0..1 |
| dry-wit | ``dry_wit_score`` | +1 | (dry markers - enthusiasm markers) per 100 words |

Version 2 added ``clarifying_share`` (replaces ``question_share`` for socratic: generic closing
offers such as "Anything else?" and self-answered questions do not count) and
``dry_wit_score`` (replaces ``enthusiasm_rate``, which is 0 on every answer without enthusiasm
and so could not tell a neutral answer from a dry one).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from steering_core.errors import InvalidParameterError
from steering_core.text import WORD_RE, words

METRICS_VERSION = "style-metrics-v2"

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


# --- version 2: socratic and dry-wit scores -------------------------------------------------

GENERIC_OFFER_RE = re.compile(
    r"\b(?:anything else|any other questions?|any more questions?|any further questions?|"
    r"other questions|further assistance|help with anything)\b"
)
SELF_ANSWER_RE = re.compile(r"^(?:because|it'?s because|the answer is|simple:|well,? because)\b")


def clarifying_share(text: str) -> float:
    """Share of sentences that are genuine questions to the reader (0 for a text with no sentence).

    A sentence counts when it ends with ``?``, is not a generic closing offer
    (:data:`GENERIC_OFFER_RE`: "Is there anything else ...?", "Any other questions?") and is not
    answered by the very next sentence (a rhetorical question: next sentence starts with
    "Because", "The answer is", ...: :data:`SELF_ANSWER_RE`).
    """
    parts = sentences(text)
    count = 0
    for i, s in enumerate(parts):
        if not s.rstrip().endswith("?"):
            continue
        low = s.lower()
        if GENERIC_OFFER_RE.search(low):
            continue
        if i + 1 < len(parts) and SELF_ANSWER_RE.match(parts[i + 1].lower()):
            continue
        count += 1
    return count / len(parts) if parts else 0.0


ENTHUSIASM_V2 = ENTHUSIASM | vocabulary(
    "congratulations congrats fascinating adorable joy joyful proud precious magical rewarding "
    "delicious stoked yay hooray glad excellent cool coolest thrive thriving crush shine "
    "wonderfully fantastically amazingly awesomeness exciting exhilarating inspiring blast"
)
ENCOURAGEMENT_RE = re.compile(
    r"you(?:'ve| have)? got this|you'll do great|you will do great|you're going to (?:do|be|love|have)|"
    r"i'm sure|i am sure|i just know|keep up|well done|great job|good job|great question|"
    r"don't worry|no worries|in no time|before you know it|such an? |so much fun|i love|"
    r"can(?:'t|not) wait|so happy|so glad|be proud|you deserve|what a (?:great|lovely|wonderful)"
)
UNDERSTATEMENT = vocabulary(
    "mildly modestly rather somewhat fairly reasonably marginally slightly occasionally presumably "
    "apparently arguably merely hardly barely tolerably tolerable adequate adequately passable "
    "acceptable regret tedious optional unremarkable admittedly"
)
UNDERSTATEMENT_RE = re.compile(
    r"on the whole|one assumes|not exactly|not much of|more or less|of sorts|to a degree|not entirely|"
    r"not without|as it happens|i suppose|as advertised|at best|in fairness|not obvious"
)
FRAGMENT_MAX_WORDS = 3
_FRAGMENT_RE = re.compile(r"[^\W\d_][^\W\d_'’ ,-]*(?:[ ,'’-]+[^\W\d_]+)*\.")


def _emoji_count(text: str) -> int:
    return sum(1 for ch in text if 0x1F300 <= ord(ch) <= 0x1FAFF or 0x2600 <= ord(ch) <= 0x27BF)


def enthusiasm_markers(text: str) -> int:
    """Exclamation marks, :data:`ENTHUSIASM_V2` words, :data:`ENCOURAGEMENT_RE` phrases and emoji."""
    low = text.lower().replace("’", "'")
    ws = words(low)
    return (
        low.count("!") + sum(w in ENTHUSIASM_V2 for w in ws) + len(ENCOURAGEMENT_RE.findall(low)) + _emoji_count(text)
    )


def _is_fragment(sentence: str) -> bool:
    """A deadpan fragment: 1..FRAGMENT_MAX_WORDS plain words ending with ``.`` ("Bold.", "A puppy.").

    Only letters, spaces, apostrophes, commas and hyphens before the full stop: list markers
    ("1."), markdown ("**Boil**: then rinse.") and numbers do not count.
    """
    return bool(_FRAGMENT_RE.fullmatch(sentence)) and len(words(sentence)) <= FRAGMENT_MAX_WORDS


def dry_markers(text: str) -> int:
    """:data:`UNDERSTATEMENT` words and phrases, plus deadpan fragments.

    A deadpan fragment is a sentence of at most :data:`FRAGMENT_MAX_WORDS` plain words ending with
    a full stop ("A puppy. Bold."; not a list marker such as "1." nor a markdown list item).
    """
    low = text.lower().replace("’", "'")
    ws = words(low)
    fragments = sum(1 for s in sentences(text) if _is_fragment(s))
    return sum(w in UNDERSTATEMENT for w in ws) + len(UNDERSTATEMENT_RE.findall(low)) + fragments


def dry_wit_score(text: str) -> float:
    """(dry markers - enthusiasm markers) per 100 words: > 0 dry, < 0 enthusiastic, 0 neutral/empty.

    A signed scale: a neutral answer sits near 0 with room both ways (enthusiasm pushes it down,
    understatement and deadpan fragments push it up).
    """
    n = len(words(text))
    return _rate(dry_markers(text), n) - _rate(enthusiasm_markers(text), n)


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
    "clarifying_share": clarifying_share,
    "dry_wit_score": dry_wit_score,
}


def metric(name: str) -> Callable[[str], float]:
    """The metric function called ``name`` (see :data:`METRICS`).

    Raises:
        InvalidParameterError: unknown name (the message lists the known ones).
    """
    if name not in METRICS:
        raise InvalidParameterError("metric", f"one of {sorted(METRICS)}", repr(name))
    return METRICS[name]


@dataclass(frozen=True)
class StyleMetric:
    """A style's validated metric and its orientation: ``sign * metric(text)`` is higher at the positive pole."""

    style: str
    metric: str
    sign: int

    def score(self, text: str) -> float:
        """The oriented score of one answer (positive pole = higher)."""
        return self.sign * METRICS[self.metric](text)

    def describe(self) -> str:
        """E.g. ``-words`` or ``+dry_wit_score``."""
        return f"{'+' if self.sign > 0 else '-'}{self.metric}"


STYLE_METRICS: dict[str, StyleMetric] = {
    "terse": StyleMetric("terse", "words", -1),
    "formal": StyleMetric("formal", "formality", +1),
    "socratic": StyleMetric("socratic", "clarifying_share", +1),
    "dry-wit": StyleMetric("dry-wit", "dry_wit_score", +1),
}


def style_metric(style: str) -> StyleMetric:
    """The validated metric of seed style ``style`` (see :data:`STYLE_METRICS`).

    Raises:
        InvalidParameterError: no metric registered for ``style``.
    """
    if style not in STYLE_METRICS:
        raise InvalidParameterError("style", f"one of {sorted(STYLE_METRICS)}", repr(style))
    return STYLE_METRICS[style]


def style_score(style: str, text: str) -> float:
    """``style_metric(style).score(text)``: a signed scale, higher toward the positive pole."""
    return style_metric(style).score(text)
