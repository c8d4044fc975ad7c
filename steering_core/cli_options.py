"""The shared pieces of every ``steer`` parser: option builders, deprecated spellings and the runner.

One vocabulary for the whole command line, matching the API:

* ``--model NAME`` (:func:`add_model`), ``--style S`` (:func:`add_style`), ``--alpha A``
  (:func:`add_alpha`);
* ``--layers L`` (:func:`add_layers`): ``12`` or ``6,12``, like every ``layers=`` argument of the
  API; a command that steers one layer accepts exactly one. The old ``--layer N`` still works
  for one release and prints a one-line deprecation note on stderr;
* ``--json FILE`` (:func:`add_json`): also write the result as JSON (``-``: to stdout);
* deprecated verbs (``steer certify`` is now ``steer vector certify``, ``steer lens`` is
  ``steer behaviour lens``) stay as hidden aliases for one release (:func:`deprecated_alias`);
  :func:`run_parser` prints their note before running the command.

Defaults come from :mod:`steering_core.defaults`. Nothing here imports a heavy module: the
parsers are built at start-up, and ``steer --help`` must not wait for torch (a test checks it).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from steering_core.argtypes import comma_ints
from steering_core.defaults import DEFAULT_ALPHA, DEFAULT_LAYER, DEFAULT_STYLE, MODEL_HELP
from steering_core.errors import InvalidParameterError, SteeringError

NOTES_ATTR = "_deprecation_notes"
"""Namespace attribute collecting the deprecation notes of one command line."""

REMOVAL = "it will be removed in the next release"


def deprecation_note(old: str, new: str) -> str:
    """The one-line note for a deprecated spelling."""
    return f"steer: note: {old} is deprecated, use {new} ({REMOVAL})"


def note_deprecated(namespace: argparse.Namespace, old: str, new: str) -> None:
    """Record the deprecation note for ``old`` on ``namespace``; :func:`run_parser` prints it (once)."""
    notes: list[str] = list(getattr(namespace, NOTES_ATTR, []))
    note = deprecation_note(old, new)
    if note not in notes:
        notes.append(note)
    setattr(namespace, NOTES_ATTR, notes)


def print_notes(args: argparse.Namespace) -> None:
    """Print the deprecation notes of the parsed command line on stderr, one line each."""
    verb = getattr(args, "_deprecated_verb", None)
    if verb is not None:
        note_deprecated(args, *verb)
    for note in getattr(args, NOTES_ATTR, []):
        print(note, file=sys.stderr)


def one_layer(text: str) -> list[int]:
    """``"12"`` -> ``[12]``; several layers or anything else is an argparse error naming the text."""
    layers = comma_ints(text)
    if len(layers) != 1:
        raise argparse.ArgumentTypeError(f"expected one layer index (this command steers one layer), got {text!r}")
    return layers


class StoreAction(argparse.Action):
    """An action that stores :meth:`value` of what was given (a subclass may record a deprecation note there)."""

    def value(self, namespace: argparse.Namespace, values: Any) -> Any:
        """What to store under ``dest`` for ``values`` (default: ``values`` unchanged)."""
        return values

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, self.value(namespace, values))


class _DeprecatedLayer(StoreAction):
    """``--layer N``: stores ``[N]`` under ``layers`` and records the deprecation note."""

    def value(self, namespace: argparse.Namespace, values: Any) -> Any:
        note_deprecated(namespace, "--layer", "--layers")
        return [values]


def add_model(parser: argparse.ArgumentParser, *, default: str | None = None, help: str = MODEL_HELP) -> None:
    """``--model NAME`` (default None: the embedded model)."""
    parser.add_argument("--model", default=default, help=help)


def add_style(parser: argparse.ArgumentParser, *, default: str = DEFAULT_STYLE, help: str | None = None) -> None:
    """``--style S``: a seed style (the names come from :mod:`steering_core.styles`, which is light)."""
    from steering_core.styles import style_names  # deferred: only the parsers that take a style need it

    parser.add_argument("--style", default=default, help=help or f"seed style: {', '.join(style_names())}")


def add_alpha(
    parser: argparse.ArgumentParser, *, default: float | None = DEFAULT_ALPHA, help: str | None = None
) -> None:
    """``--alpha A``: the steering strength."""
    parser.add_argument(
        "--alpha",
        type=float,
        default=default,
        help=help or (f"steering strength (default {default:g})" if default is not None else None),
    )


def add_layers(
    parser: argparse.ArgumentParser,
    *,
    default: Sequence[int] | None = (DEFAULT_LAYER,),
    single: bool = False,
    help: str | None = None,
) -> None:
    """``--layers L`` (``12`` or ``6,12``; with ``single``, exactly one) and the deprecated ``--layer N``.

    Both store a list of ints (or ``default``, as a list, or None) under ``args.layers``.
    """
    if help is None:
        shown = ",".join(map(str, default)) if default is not None else None
        what = "decoder layer to steer, 0-based" if single else "decoder layers, 0-based: 12 or 6,12"
        help = f"{what} (default {shown})" if shown is not None else what
    parser.add_argument(
        "--layers",
        type=one_layer if single else comma_ints,
        default=list(default) if default is not None else None,
        metavar="L",
        help=help,
    )
    parser.add_argument(
        "--layer", dest="layers", type=int, action=_DeprecatedLayer, default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )


def add_json(parser: argparse.ArgumentParser, *, default: str | None = None, help: str | None = None) -> None:
    """``--json FILE``: also write the result as JSON (``-`` writes it to stdout)."""
    parser.add_argument(
        "--json",
        default=default,
        metavar="FILE",
        help=help
        or "also write the result as JSON to FILE ('-': stdout)" + (f" (default {default})" if default else ""),
    )


def deprecated_alias(parser: argparse.ArgumentParser, old: str, new: str) -> argparse.ArgumentParser:
    """Mark ``parser`` (a hidden top-level alias) as the deprecated spelling ``old`` of ``new``."""
    parser.set_defaults(_deprecated_verb=(old, new))
    return parser


def subcommands(parser: argparse.ArgumentParser, dest: str) -> Any:
    """A required sub-command action whose help lists only the non-hidden commands.

    A parser added to it without ``help`` (a deprecated alias) still parses but is not listed.
    """
    action = parser.add_subparsers(dest=dest, required=True, metavar="COMMAND")
    return action


def run_parser(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand; every failure is one line on stderr, no traceback.

    Deprecated spellings print their note on stderr first. Exit status: 2 for bad input and
    unavailable resources (our typed errors, file-system errors such as a missing or unwritable
    path), 130 on Ctrl-C, 1 for anything unexpected (a bug: set ``STEER_DEBUG=1`` to see its
    traceback).
    """
    args, extra = parser.parse_known_args(argv)
    if extra:
        if getattr(args, "command", None) != "spec":
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.rest = [*extra, *getattr(args, "rest", [])]  # `steer spec --skip-smt`: argparse's REMAINDER skips options
    print_notes(args)
    try:
        return int(args.func(args))
    except (SteeringError, InvalidParameterError) as error:
        print(f"steer: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"steer: error: {one_line(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("steer: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # a bug: one line for the user, the traceback on request
        if os.environ.get("STEER_DEBUG"):
            raise
        print(
            f"steer: internal error: {type(error).__name__}: {one_line(error)} (set STEER_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 1


def one_line(error: BaseException) -> str:
    """An exception's message on one line (file errors name the path)."""
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return " ".join(str(error).split()) or type(error).__name__
