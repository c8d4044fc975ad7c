"""``steer lens``: the lens (bleed) eval on the command line.

:func:`add_lens_subcommand` adds ``lens`` to the ``steer`` parser. The handler extracts the style's
vector at ``--layer``, answers the ``lens-probes-v1`` probes unhooked and steered, and prints each
lens's baseline and steered score (percent of words), their bands and the change in percentage
points, with the perturbation ratio. ``--json`` / ``--markdown`` also write the report
(:meth:`LensReport.to_dict` / :meth:`LensReport.to_markdown`). Exit status 0 on success.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

DEFAULT_STYLE = "terse"
DEFAULT_ALPHA = 0.5
DEFAULT_LAYER = 12
DEFAULT_MAX_NEW_TOKENS = 64


def _say(message: str) -> None:
    print(f"[steer] {message}", file=sys.stderr, flush=True)


def _write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically and say so."""
    from steering_core.atomic import write_text_atomic

    _say(f"wrote {write_text_atomic(path, text)}")


def cmd_lens(args: argparse.Namespace) -> int:
    """Run the lens eval for ``args`` and print the table; write JSON / Markdown when asked."""
    from steering_core.behaviour.lens import PROBE_SET, lens_eval, lens_table
    from steering_core.extract import extract
    from steering_core.models import load_model

    lm: Any = load_model(args.model, progress=_say)
    _say(f"extracting style {args.style!r} at layer {args.layer}")
    vector = extract(lm, style=args.style, layers=[args.layer])
    _say(f"generating baseline and steered answers ({args.max_new_tokens} new tokens at most)")
    report = lens_eval(
        lm,
        vector=vector,
        alpha=args.alpha,
        layer=args.layer,
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


def add_lens_subcommand(sub: Any) -> argparse.ArgumentParser:
    """Add ``lens`` to ``sub`` (the ``steer`` parser's subparsers action); returns its parser."""
    from steering_core.styles import style_names

    p: argparse.ArgumentParser = sub.add_parser(
        "lens", help="lens (bleed) eval: lens vocabularies on neutral probes, baseline vs steered"
    )
    p.add_argument(
        "--model",
        default=None,
        help="embedded name ('embedded' = Qwen2.5-Coder-0.5B-Instruct, 'smollm2'), local folder, or HF id",
    )
    p.add_argument("--style", default=DEFAULT_STYLE, help=f"seed style: {', '.join(style_names())}")
    p.add_argument("--alpha", type=float, default=DEFAULT_ALPHA)
    p.add_argument("--layer", type=int, default=DEFAULT_LAYER)
    p.add_argument("--max-new-tokens", type=int, default=DEFAULT_MAX_NEW_TOKENS)
    p.add_argument("--prompt-set", default=None, help="prompt-set id (default lens-probes-v1)")
    p.add_argument("--n-prompts", type=int, default=None, help="use only the first N probes")
    p.add_argument("--json", default=None, metavar="FILE", help="also write the report as JSON")
    p.add_argument("--markdown", default=None, metavar="FILE", help="also write the Markdown table")
    p.set_defaults(func=cmd_lens)
    return p
