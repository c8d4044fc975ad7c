"""``steer behaviour calibrate | run``: calibrate and check the behavioural style contracts.

* ``steer behaviour calibrate [--styles ...] [--out steering_core/data/behaviour/calibration.json]``: the
  (layer, alpha) grid on the calibration questions; writes the record atomically.
* ``steer behaviour search [--styles ...] [--ratios 0.3,0.6] [--questions 4]``: the extraction
  recipe search (:mod:`steering_core.behaviour.recipe`); writes ``steering_core/data/behaviour/recipes.json``.
* ``steer behaviour run [--full | --reduced] [--out out/behaviour]``: the contracts with their
  negative controls, the prompt-vs-injection comparison and the lens table; writes
  ``behaviour.json`` and ``behaviour.md`` and prints the markdown. Exit status 0 when the run
  completed (the verdicts are results, not errors), 2 on unusable arguments.

Both take ``--executor local|ray [--ray-address A] [--workers N] [--records FILE]``: the
generations run as cells of :mod:`steering_core.execute` (the lens table stays in-process).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from steering_core.argtypes import comma_floats as _floats
from steering_core.argtypes import comma_names as _csv
from steering_core.atomic import write_text_atomic
from steering_core.behaviour.lens_cli import add_lens_subcommand
from steering_core.cli_options import add_layers, add_model, subcommands
from steering_core.defaults import (
    BEHAVIOUR_SEARCH_QUESTIONS,
    BEHAVIOUR_SEARCH_RATIOS,
    BEHAVIOUR_SEARCH_TOKENS,
    CALIBRATION_ALPHAS,
    CALIBRATION_LAYERS,
)
from steering_core.execute.options import add_executor_args

# deferred imports: command handlers import what they run inside the handler, so that building
# the parser at start-up (steer --help, argument errors) loads no torch, transformers, matplotlib
# or z3 (tests/refactor/test_startup.py).


def _say(message: str) -> None:
    print(f"[behaviour] {message}", file=sys.stderr, flush=True)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from contracts.style import CALIBRATION_PATH, style_contract
    from steering_core.behaviour.calibrate import calibrate
    from steering_core.behaviour.session import Session
    from steering_core.execute.cli import open_execution
    from steering_core.models import load_model

    contracts = {s: style_contract(s, 0, 1.0, 0.0) for s in args.styles}
    lm = load_model(args.model, progress=_say)
    with open_execution(args, [lm], _say) as execution:
        session = Session(lm, args.max_new_tokens, progress=_say, execution=execution)
        record = calibrate(session, contracts, args.layers, args.alphas)
    out = Path(args.out) if args.out else CALIBRATION_PATH
    write_text_atomic(out, json.dumps(record, indent=2, sort_keys=True) + "\n")
    for style, entry in record["styles"].items():
        chosen: dict[str, Any] | None = entry["chosen"]
        if chosen is None:
            print(f"{style:9s} no coherent cell")
        else:
            print(
                f"{style:9s} layer {chosen['layer']:2d} alpha {chosen['alpha']:<5g} ratio {chosen['ratio']:.3f} "
                f"effect {chosen['effect']:+.3f} ({entry['criterion']})"
            )
    print(f"wrote {out} ({session.n_generations} generations)", file=sys.stderr)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from contracts.style import load_calibration
    from steering_core.behaviour.recipe import RECIPES_PATH, search
    from steering_core.behaviour.session import Session
    from steering_core.models import load_model

    calibration = load_calibration()
    layers = {s: int(calibration["styles"][s]["chosen"]["layer"]) for s in args.styles}
    lm = load_model(args.model, progress=_say)
    session = Session(lm, args.max_new_tokens, progress=_say, max_batch=args.max_batch)
    out = Path(args.out) if args.out else RECIPES_PATH
    record: dict[str, Any] = {}
    for style in args.styles:  # saved after each style, so a long search keeps what it finished
        part = search(session, [style], layers, args.ratios, args.questions, args.max_new_tokens)
        record = {**part, "styles": {**record.get("styles", {}), **part["styles"]}}
        write_text_atomic(out, json.dumps(record, indent=2, sort_keys=True) + "\n")
    for style, entry in record["styles"].items():
        ratios = entry["chosen_ratio"]
        print(
            f"{style:9s} {entry['chosen']['name']:28s} ratio +{ratios['positive']:g} / -{ratios['negative']:g} "
            f"score {entry['scores'][entry['chosen']['name']]}"
        )
    print(f"wrote {out} ({session.n_rows} rows)", file=sys.stderr)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from steering_core.behaviour.run import RunConfig, run_behaviour
    from steering_core.behaviour.session import Session
    from steering_core.execute.cli import open_execution
    from steering_core.models import load_model

    config = RunConfig.full() if not args.reduced else RunConfig.reduced()
    if args.styles:
        config.styles = list(args.styles)
    if args.questions is not None:
        config.n_questions = args.questions
    if args.max_new_tokens is not None:
        config.max_new_tokens = args.max_new_tokens
    if args.no_lens:
        config.lens = False
    if args.no_parity:
        config.parity = False
    lm = load_model(args.model, progress=_say)
    with open_execution(args, [lm], _say) as execution:
        # The default (local, one worker, no record file) runs in-process as batched rows; cells only
        # when an executor, workers or a record file is asked for.
        in_process = args.executor == "local" and not args.workers and not args.records
        session = Session(
            lm,
            config.max_new_tokens,
            progress=_say,
            execution=None if in_process else execution,
            batched=not args.unbatched,
            max_batch=args.max_batch,
        )
        result = run_behaviour(config, progress=_say, session=session)
    out = Path(args.out)
    write_text_atomic(out / "behaviour.json", json.dumps(result.to_dict(), indent=2, sort_keys=True) + "\n")
    markdown = result.to_markdown()
    write_text_atomic(out / "behaviour.md", markdown)
    print(markdown)
    print(f"wrote {out / 'behaviour.json'} and {out / 'behaviour.md'}", file=sys.stderr)
    return 0


def add_subcommands(sub: Any) -> None:
    """Add ``behaviour`` (with ``calibrate``, ``run`` and ``lens``) to the ``steer`` parser."""
    parser = sub.add_parser("behaviour", help="behavioural style contracts, prompt-vs-injection, lens bleed")
    inner = subcommands(parser, "behaviour_command")
    styles = "terse,formal,socratic,dry-wit"

    p = inner.add_parser("calibrate", help="choose each style's (layer, alpha) on the calibration questions")
    add_model(p)
    p.add_argument("--styles", type=_csv, default=_csv(styles))
    add_layers(p, default=CALIBRATION_LAYERS)
    p.add_argument("--alphas", type=_floats, default=list(CALIBRATION_ALPHAS))
    p.add_argument("--max-new-tokens", type=int, default=48)
    p.add_argument("--out", default=None, help="default: steering_core/data/behaviour/calibration.json")
    add_executor_args(p)
    p.set_defaults(func=cmd_calibrate)

    p = inner.add_parser("search", help="compare extraction recipes on the search questions; writes recipes.json")
    add_model(p)
    p.add_argument("--styles", type=_csv, default=_csv(styles))
    p.add_argument("--ratios", type=_floats, default=list(BEHAVIOUR_SEARCH_RATIOS), help="perturbation ratios to try")
    p.add_argument("--questions", type=int, default=BEHAVIOUR_SEARCH_QUESTIONS, help="search questions per direction")
    p.add_argument("--max-new-tokens", type=int, default=BEHAVIOUR_SEARCH_TOKENS)
    p.add_argument("--max-batch", type=int, default=32, help="rows per batched forward pass")
    p.add_argument("--out", default=None, help="default: steering_core/data/behaviour/recipes.json")
    p.set_defaults(func=cmd_search)

    p = inner.add_parser("run", help="contracts + controls, prompt-vs-injection, lens; JSON + markdown report")
    add_model(p)
    p.add_argument("--reduced", action="store_true", help="contracts and controls only (the CI-sized run)")
    p.add_argument("--styles", type=_csv, default=None)
    p.add_argument("--no-lens", action="store_true")
    p.add_argument("--no-parity", action="store_true", help="skip the comparison against prompting")
    p.add_argument("--questions", type=int, default=None, help="first N held-out questions per direction")
    p.add_argument("--max-new-tokens", type=int, default=None, help="default 64")
    p.add_argument("--max-batch", type=int, default=32, help="rows per batched forward pass")
    p.add_argument("--unbatched", action="store_true", help="one generation per condition (the reference path)")
    p.add_argument("--out", default="out/behaviour")
    add_executor_args(p)
    p.set_defaults(func=cmd_run)

    add_lens_subcommand(inner)  # steer behaviour lens
