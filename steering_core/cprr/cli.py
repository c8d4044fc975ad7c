"""``steer cprr``: the conjecture registry on the command line.

* ``steer cprr board [--json FILE]``: id, group, title, status, evidence count, last verdict/date/values
  (``--json -``: the rows as JSON on stdout; the old bare ``--json`` flag still works, with a note).
* ``steer cprr run ID [ID ...] [--model M] [--dry-run]``: run the protocol(s), append evidence.
* ``steer cprr run --all [--fast]``: every runnable entry (``--fast``: only the cheap runners).
* ``steer cprr cite ID --format bibtex|cff|latex``.
* ``steer cprr check [--deep] [--against REF | --no-git]``: the validator; exit 1 on any problem.
* ``steer cprr transition ID STATUS [--proved-by P] [--reason TEXT]``: request a transition
  (statuses follow the evidence automatically after each run; this is for ``proved`` and for
  asking explicitly -- it is refused, with the reason, unless the requirement holds).

Exit status: 0 success, 1 a check or run found a problem, 2 unusable input (one line on stderr).
Every option takes ``--registry DIR`` (default: the shipped ``steering_core/data/cprr``). ``run``
(without ``--dry-run``) and ``transition`` write into the registry: outside a source checkout the
shipped one is installed package data, so there they need ``--registry DIR`` (exit 2 otherwise).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from steering_core.cli_options import StoreAction, add_model, note_deprecated, print_notes, subcommands
from steering_core.cprr import CITATION_FORMATS, STATUSES
from steering_core.errors import CheckoutRequiredError, SteeringError
from steering_core.execute.options import add_executor_args
from steering_core.resources import checkout_root

# deferred imports: command handlers import what they run inside the handler, so that building
# the parser at start-up (steer --help, argument errors) loads no torch, transformers, matplotlib
# or z3 (tests/refactor/test_startup.py).


def _say(message: str) -> None:
    print(f"[cprr] {message}", file=sys.stderr, flush=True)


def _guard(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def wrapped(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except SteeringError as error:
            print(f"steer cprr: error: {error}", file=sys.stderr)
            return 2

    wrapped.__doc__ = handler.__doc__
    return wrapped


def _registry(args: argparse.Namespace) -> Path | None:
    return Path(args.registry) if args.registry else None


def _writable_registry(args: argparse.Namespace, verb: str) -> Path | None:
    """The registry folder ``verb`` may append to: ``--registry DIR``, or the shipped one in a checkout.

    Outside a source checkout the shipped registry is installed package data (site-packages):
    appending evidence there would change the installed package behind pip's back and be lost
    on the next install, so a writing verb then needs ``--registry DIR``.

    Raises:
        CheckoutRequiredError: no ``--registry`` and the package is installed outside a checkout.
    """
    from steering_core.cprr.store import registry_dir

    if args.registry or checkout_root() is not None:
        return _registry(args)
    shipped = registry_dir()
    raise CheckoutRequiredError(
        f"{verb} appends to the registry, and the shipped one ({shipped}) is installed package data "
        f"outside a source checkout; pass --registry DIR with a copy of it (`cp -r {shipped} DIR`), "
        "or run from a clone (`pip install -e .`)"
    )


def cmd_board(args: argparse.Namespace) -> int:
    """Print the board; ``--json FILE`` writes its rows as JSON instead (``-``: to stdout)."""
    from steering_core.cprr.board import board_rows, render_board

    if args.json is None:
        print(render_board(_registry(args)))
        return 0
    text = json.dumps(board_rows(_registry(args)), indent=2, ensure_ascii=False) + "\n"
    if args.json in ("-", _BARE_JSON):
        sys.stdout.write(text)
    else:
        from steering_core.atomic import write_text_atomic

        print(f"wrote {write_text_atomic(args.json, text)}", file=sys.stderr)
    return 0


_BARE_JSON = "\0bare"  # `--json` without FILE: the old flag spelling, rows to stdout


class _JsonFile(StoreAction):
    """``--json FILE``; a bare ``--json`` (the old flag) still prints to stdout, with a deprecation note."""

    def value(self, namespace: argparse.Namespace, values: Any) -> Any:
        if values is None:
            note_deprecated(namespace, "steer cprr board --json (a flag)", "--json - (stdout) or --json FILE")
            return _BARE_JSON
        return values


def cmd_run(args: argparse.Namespace) -> int:
    """Run protocols and append their evidence."""
    from steering_core.cprr.engine import run_many, runnable_ids
    from steering_core.cprr.errors import CprrError

    if args.all and args.ids:
        raise CprrError("run: give conjecture ids or --all, not both")
    if not args.all and not args.ids:
        raise CprrError("run: give at least one conjecture id, or --all [--fast]")
    if args.fast and not args.all:
        raise CprrError("run: --fast selects among --all; name the ids to run instead")
    registry = _registry(args) if args.dry_run else _writable_registry(args, "steer cprr run")
    ids = runnable_ids(args.fast, registry) if args.all else list(args.ids)
    from steering_core.execute.cli import open_execution

    if args.executor == "local" and args.records is None:
        outcomes = run_many(ids, registry, args.model, args.dry_run, _say)
    else:
        with open_execution(args, (), _say) as execution:
            outcomes = run_many(ids, registry, args.model, args.dry_run, _say, execution=execution)
    for outcome in outcomes:
        print(outcome.summary())
    return 0


def cmd_cite(args: argparse.Namespace) -> int:
    """Print a citation."""
    from steering_core.cprr.cite import cite

    sys.stdout.write(cite(args.id, args.format, _registry(args)))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Validate every entry; exit 1 on any problem."""
    from steering_core.cprr import store
    from steering_core.cprr.registry_check import check_registry

    against = None if args.no_git else args.against
    problems = check_registry(_registry(args), against, args.deep)
    n = len(store.entry_paths(_registry(args)))
    for problem in problems:
        print(problem)
    scope = "" if against is None else f", append-only vs {against}"
    proofs = "deep" if args.deep else "shallow"
    what = f"verdicts and statuses recomputed, proof checks {proofs}{scope}"
    print(f"{n} entries checked ({what}): {len(problems)} problem(s)")
    return 1 if problems else 0


def cmd_transition(args: argparse.Namespace) -> int:
    """Request a status transition; refused with the reason unless the requirement holds."""
    from steering_core.cprr import store
    from steering_core.cprr.lifecycle import transition

    registry = _writable_registry(args, "steer cprr transition")
    entry = store.load_entry(args.id, registry)
    reason = args.reason or f"requested: {entry['status']} -> {args.status}"
    updated = transition(entry, args.status, reason, proved_by=args.proved_by)
    store.write_entry(updated, registry)
    print(f"{args.id}: {entry['status']} -> {updated['status']}")
    return 0


def add_subcommands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``cprr`` (with board, run, cite, check, transition) to the ``steer`` parser."""
    cprr = sub.add_parser("cprr", help="conjecture registry: board, run, cite, check, transition")
    commands = subcommands(cprr, "cprr_command")

    def add(name: str, handler: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = commands.add_parser(name, help=help_text)
        parser.add_argument("--registry", default=None, help="registry folder (default: the shipped one)")
        parser.set_defaults(func=_guard(handler))
        return parser

    p = add("board", cmd_board, "status, evidence count, last verdict of every conjecture")
    p.add_argument(
        "--json",
        nargs="?",
        action=_JsonFile,
        default=None,
        metavar="FILE",
        help="write the rows as JSON to FILE ('-': stdout) instead of the table",
    )

    p = add("run", cmd_run, "run protocols on the model and append the evidence")
    p.add_argument("ids", nargs="*", metavar="ID", help="conjecture ids, e.g. C-5 H-SV-1")
    p.add_argument("--all", action="store_true", help="every entry that has a runner")
    p.add_argument("--fast", action="store_true", help="with --all: only the cheap runners (no generation)")
    add_model(p, help="override the protocol's model (evidence then does not conform)")
    p.add_argument("--dry-run", action="store_true", help="measure and print, write nothing")
    add_executor_args(p)

    p = add("cite", cmd_cite, "a citation naming version, commit and evidence digest")
    p.add_argument("id", metavar="ID")
    p.add_argument("--format", choices=CITATION_FORMATS, default="bibtex")

    p = add("check", cmd_check, "recompute every verdict and status; non-zero exit on any inconsistency")
    p.add_argument("--deep", action="store_true", help="run the SMT and Hypothesis checks of proved entries")
    p.add_argument("--against", default="HEAD", metavar="REF", help="git ref for the append-only check (HEAD)")
    p.add_argument("--no-git", action="store_true", help="skip the append-only check against git")

    p = add("transition", cmd_transition, "request a status transition (checked against the evidence)")
    p.add_argument("id", metavar="ID")
    p.add_argument("status", choices=STATUSES)
    p.add_argument("--proved-by", default=None, metavar="PROPERTY", help="spec property id (for proved)")
    p.add_argument("--reason", default=None)


def main(argv: Sequence[str] | None = None) -> int:
    """``steer cprr ...`` on its own (``argv`` without the leading ``cprr``); used by tests."""
    parser = argparse.ArgumentParser(prog="steer")
    add_subcommands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["cprr", *(argv or [])])
    print_notes(args)
    return int(args.func(args))
