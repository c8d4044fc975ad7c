"""Style axes: named lists of contrastive instruction pairs.

A :class:`ContrastPair` holds a positive and a negative pole; a steering vector for a style is
built from the activation differences ``positive - negative`` over its pairs. The four seed
axes carry the seed project's poles verbatim. Users make their own with :func:`make_style`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from steering_core.errors import InvalidParameterError, UnknownStyleError


@dataclass(frozen=True, kw_only=True)
class ContrastPair:
    """One positive/negative instruction pair (plain text, before any chat template)."""

    positive: str
    negative: str

    def __post_init__(self) -> None:
        for label, text in (("positive", self.positive), ("negative", self.negative)):
            if not isinstance(text, str) or not text.strip():
                raise InvalidParameterError(f"pair.{label}", "a non-empty string", repr(text))


@dataclass(frozen=True, kw_only=True)
class Style:
    """A named style axis: one or more contrast pairs, positive pole first."""

    name: str
    pairs: tuple[ContrastPair, ...]
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise InvalidParameterError("name", "a non-empty string", repr(self.name))
        if not self.pairs:
            raise InvalidParameterError("pairs", "at least one contrast pair", "none")


SEED_STYLES: dict[str, Style] = {
    "terse": Style(
        name="terse",
        pairs=(
            ContrastPair(
                positive="Be extremely concise and technical. No filler words.",
                negative="Please explain thoroughly with lots of context and examples.",
            ),
        ),
        description="short, technical answers (negative pole: long, example-rich explanations)",
    ),
    "formal": Style(
        name="formal",
        pairs=(
            ContrastPair(positive="Respond in precise, formal academic prose.", negative="Just chat with me casually."),
        ),
        description="formal academic register (negative pole: casual chat)",
    ),
    "socratic": Style(
        name="socratic",
        pairs=(
            ContrastPair(
                positive="Respond only with targeted clarifying questions.", negative="Give me the answer directly."
            ),
        ),
        description="answers with clarifying questions (negative pole: direct answers)",
    ),
    "dry-wit": Style(
        name="dry-wit",
        pairs=(
            ContrastPair(
                positive="Respond with dry understatement and laconic precision.",
                negative="Be enthusiastic, warm, and encouraging.",
            ),
        ),
        description="dry understatement (negative pole: enthusiasm and warmth)",
    ),
}


def style_names() -> list[str]:
    """Names of the registered seed styles."""
    return list(SEED_STYLES)


def get_style(name: str) -> Style:
    """Return the seed style called ``name``.

    Raises:
        UnknownStyleError: ``name`` is not registered (the message lists the known names).
    """
    try:
        return SEED_STYLES[name]
    except (KeyError, TypeError):
        raise UnknownStyleError(str(name), style_names()) from None


def make_style(name: str, pairs: Iterable[ContrastPair | Sequence[str]], description: str = "") -> Style:
    """Build a user style from ``ContrastPair`` objects or ``(positive, negative)`` sequences."""
    built: list[ContrastPair] = []
    for index, pair in enumerate(pairs):
        if isinstance(pair, ContrastPair):
            built.append(pair)
        elif isinstance(pair, Sequence) and not isinstance(pair, str) and len(pair) == 2:
            built.append(ContrastPair(positive=str(pair[0]), negative=str(pair[1])))
        else:
            raise InvalidParameterError(f"pairs[{index}]", "a ContrastPair or a (positive, negative) pair", repr(pair))
    return Style(name=name, pairs=tuple(built), description=description)


def as_style(style: str | Style) -> Style:
    """Accept a seed style name or a :class:`Style`."""
    return style if isinstance(style, Style) else get_style(style)
