"""The executor options of the command line (no heavy imports: parsers are built at start-up)."""

from __future__ import annotations

import argparse

EXECUTORS: tuple[str, ...] = ("local", "ray")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an int >= 1, got {value}")
    return value


def add_executor_args(parser: argparse.ArgumentParser) -> None:
    """Add the executor options (see the module docstring) to ``parser``."""
    group = parser.add_argument_group("execution (see README: Running on a cluster)")
    group.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="where generation cells run: in this process (local, default) or on Ray workers (ray)",
    )
    group.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDRESS",
        help="existing Ray cluster ('auto' or HOST:PORT of the head); default: start a local Ray instance",
    )
    group.add_argument(
        "--workers", type=_positive, default=None, help="Ray workers (default: cluster CPUs / --cpus-per-worker)"
    )
    group.add_argument("--cpus-per-worker", type=_positive, default=1, help="CPUs (torch threads) per Ray worker")
    group.add_argument(
        "--records",
        default=None,
        metavar="FILE",
        help="append-only JSON Lines file of finished cells; a rerun with the same file skips them (resume)",
    )
