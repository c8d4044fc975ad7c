"""argparse types shared by the ``steer`` subcommands: comma-separated lists of numbers or names."""

from __future__ import annotations

import argparse


def comma_names(text: str) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]`` (blank items dropped)."""
    return [x.strip() for x in text.split(",") if x.strip()]


def comma_floats(text: str) -> list[float]:
    """``"0.5,1,2"`` -> ``[0.5, 1.0, 2.0]``; anything else is an argparse error naming the text."""
    try:
        return [float(x) for x in comma_names(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def comma_ints(text: str) -> list[int]:
    """``"8,12"`` -> ``[8, 12]``; anything else is an argparse error naming the text."""
    try:
        return [int(x) for x in comma_names(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
