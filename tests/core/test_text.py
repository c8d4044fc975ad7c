"""Word counts and degeneracy detection on hand-made texts."""

from __future__ import annotations

import pytest

from steering_core.sweep import classify
from steering_core.text import degeneracy, word_count


def test_word_count() -> None:
    assert word_count("") == 0
    assert word_count("A mutex isn't a semaphore.") == 5
    assert word_count("x = f(2) + 3") == 4


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n ... !!!",
        "2222222222222222222222222222",
        "the the the the the the the the the the the the the the",
        "I think so. I think so. I think so. I think so. I think so. I think so.",
    ],
)
def test_degenerate_texts(text: str) -> None:
    assert degeneracy(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "A mutex is a lock that lets one thread at a time enter a critical section.",
        "Yes.",
        "Rayleigh scattering: shorter wavelengths scatter more, so the sky looks blue.",
    ],
)
def test_coherent_texts(text: str) -> None:
    assert degeneracy(text) is None


def test_classify_phases() -> None:
    base = ["a b c", "d e f"]
    assert classify(base, base)[0] == "dead"
    assert classify(base, ["a b", "d e f"])[0] == "effective"
    assert classify(base, ["", "2222222222222222222"])[0] == "collapse"
