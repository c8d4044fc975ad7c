"""``steer behaviour lens``: the lens (bleed) eval on the command line.

:func:`add_lens_subcommand` adds ``lens`` to the ``steer behaviour`` parser (``steer lens`` stays
for one release as a deprecated alias). The handler extracts the style's vector at
``--layers L``, answers the ``lens-probes-v1`` probes unhooked and steered, and prints each
lens's baseline and steered score (percent of words), their bands and the change in percentage
points, with the perturbation ratio. ``--json FILE`` / ``--markdown FILE`` also write the report
(:meth:`LensReport.to_dict` / :meth:`LensReport.to_markdown`). Exit status 0 on success.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from steering_core.cli_options import add_alpha, add_json, add_layers, add_model, add_style, deprecated_alias
from steering_core.defaults import DEFAULT_ALPHA, DEFAULT_LAYER, DEFAULT_STYLE

# deferred imports: command handlers import what they run inside the handler, so that building
# the parser at start-up (steer --help, argument errors) loads no torch, transformers, matplotlib
# or z3 (tests/refactor/test_startup.py).

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_LAYER",
    "DEFAULT_MAX_NEW_TOKENS",
    "DEFAULT_STYLE",
    "add_lens_subcommand",
    "cmd_lens",
]

DEFAULT_MAX_NEW_TOKENS = 64


def _say(message: str) -> None:
    print(f"[steer] {message}", file=sys.stderr, flush=True)


def _write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically and say so (``-``: to stdout)."""
    from steering_core.atomic import write_text_atomic

    if path == "-":
        sys.stdout.write(text)
        return
    _say(f"wrote {write_text_atomic(path, text)}")


def cmd_lens(args: argparse.Namespace) -> int:
    """Run the lens eval for ``args`` and print the table; write JSON / Markdown when asked."""
    from steering_core.behaviour.lens import PROBE_SET, lens_eval, lens_table
    from steering_core.extract import extract
    from steering_core.models import load_model

    lm: Any = load_model(args.model, progress=_say)
    (layer,) = args.layers  # --layers: exactly one (checked by the parser)
    _say(f"extracting style {args.style!r} at layer {layer}")
    vector = extract(lm, style=args.style, layers=[layer])
    _say(f"generating baseline and steered answers ({args.max_new_tokens} new tokens at most)")
    report = lens_eval(
        lm,
        vector=vector,
        alpha=args.alpha,
        layer=layer,
        prompts=args.prompt_set or PROBE_SET,
        n_prompts=args.n_prompts,
        max_new_tokens=args.max_new_tokens,
        style=args.style,
    )
    print(
        f"model: {lm.name}   style: {report.style}   layer: {report.layer}   alpha: {report.alpha:g}   "
        f"perturbation ratio |alpha|*|v|/|h|: {report.ratio:.3f}"
    )
    print(
        f"prompts: {report.prompt_set} ({len(report.baseline_answers)}, sha256 {report.prompt_set_sha256[:12]})   "
        f"lenses: {report.lens_version} (sha256 {report.lens_sha256[:12]})   max new tokens: {report.max_new_tokens}"
    )
    print("bands: clean < 1% <= ambient < 3% <= captured <= 5% < full\n")
    for line in lens_table(report):
        print(line)
    if args.json:
        _write_text(args.json, json.dumps({"model": lm.name, **report.to_dict()}, indent=2, ensure_ascii=False) + "\n")
    if args.markdown:
        _write_text(args.markdown, report.to_markdown())
    return 0


def add_lens_subcommand(sub: Any, *, deprecated: bool = False) -> argparse.ArgumentParser:
    """Add ``lens`` to ``sub`` (``steer behaviour``'s subparsers action); returns its parser.

    With ``deprecated``, ``sub`` is the top-level action and ``lens`` a hidden alias of
    ``steer behaviour lens`` that prints a deprecation note (kept for one release).
    """
    help_text = "lens (bleed) eval: lens vocabularies on neutral probes, baseline vs steered"
    p: argparse.ArgumentParser
    if deprecated:
        p = deprecated_alias(sub.add_parser("lens", description=help_text), "steer lens", "steer behaviour lens")
    else:
        p = sub.add_parser("lens", help=help_text, description=help_text)
    add_model(p)
    add_style(p)
    add_alpha(p)
    add_layers(p, single=True)
    p.add_argument("--max-new-tokens", type=int, default=DEFAULT_MAX_NEW_TOKENS)
    p.add_argument("--prompt-set", default=None, help="prompt-set id (default lens-probes-v1)")
    p.add_argument("--n-prompts", type=int, default=None, help="use only the first N probes")
    add_json(p, help="also write the report as JSON")
    p.add_argument("--markdown", default=None, metavar="FILE", help="also write the Markdown table")
    p.set_defaults(func=cmd_lens)
    return p
