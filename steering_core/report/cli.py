"""``steer report`` and ``steer plot``.

* ``steer report --out report/ [--model M] [--style terse] [--layers 12] [--alpha 0.5]
  [--sweep JSON] [--behaviour JSON] [--bench JSON] [--conformance DIR] [--vector FILE]... [--quick]
  [--matrix fast|smt|full | --matrix-json JSON] [--from-data DIR] [--check-browser]``:
  the HTML report (:mod:`steering_core.report.gather`, :mod:`steering_core.report.build`).
  ``--quick`` runs no generation (no live sweep or lens eval); ``--from-data DIR`` rebuilds
  from an earlier report's ``data/`` folder without loading a model.
* ``steer plot FIGURE --data JSON --out FILE.png|.svg [--layers L] [--metric M]``: one figure
  from recorded data (see :data:`steering_core.plots.FIGURES`).

:func:`add_subcommands` adds both to the ``steer`` parser; :func:`main` runs them standalone.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from steering_core.argtypes import comma_floats as _floats
from steering_core.argtypes import comma_ints as _ints
from steering_core.cli_options import add_alpha, add_layers, add_model, add_style, run_parser
from steering_core.defaults import (
    DEFAULT_ALPHA,
    DEFAULT_LAYER,
    REPORT_LENS_TOKENS,
    REPORT_SWEEP_ALPHAS,
    REPORT_SWEEP_PROMPTS,
    REPORT_SWEEP_TOKENS,
)
from steering_core.plots import FIGURE_NAMES
from steering_core.report.sources import MATRIX_MODES, read_json

# deferred imports: command handlers import what they run inside the handler, so that building
# the parser at start-up (steer --help, argument errors) loads no torch, transformers, matplotlib
# or z3 (tests/refactor/test_startup.py).


def _say(message: str) -> None:
    print(f"[steer report] {message}", file=sys.stderr, flush=True)


def cmd_report(args: argparse.Namespace) -> int:
    """Gather (live or from ``--from-data``), build, and optionally check the page in Chromium."""
    from steering_core.report.build import build_report
    from steering_core.report.data import ReportData
    from steering_core.report.gather import ReportOptions, gather

    start = time.monotonic()
    if args.from_data:
        data = ReportData.read(args.from_data)
    else:
        options = ReportOptions(
            model=args.model,
            style=args.style,
            layer=args.layers[0],
            alpha=args.alpha,
            sweep=Path(args.sweep) if args.sweep else None,
            behaviour=Path(args.behaviour) if args.behaviour else None,
            bench=Path(args.bench) if args.bench else None,
            conformance=Path(args.conformance) if args.conformance else None,
            vectors=[Path(v) for v in args.vector],
            quick=args.quick,
            matrix=args.matrix,
            matrix_json=Path(args.matrix_json) if args.matrix_json else None,
            sweep_layers=args.sweep_layers,
            sweep_alphas=args.sweep_alphas or REPORT_SWEEP_ALPHAS,
            sweep_prompts=args.sweep_prompts or REPORT_SWEEP_PROMPTS,
            max_new_tokens=args.max_new_tokens or REPORT_SWEEP_TOKENS,
            lens_tokens=args.lens_tokens or REPORT_LENS_TOKENS,
        )
        data = gather(options, _say)
        data.meta["seconds"] = round(time.monotonic() - start, 1)
    page = build_report(data, args.out, _say)
    print(f"wrote {page} ({time.monotonic() - start:.1f} s)")
    for entry in data.certificates:
        if not entry.get("ok"):
            print(f"certificate {entry.get('source')}: FAILED verification (see the page)", file=sys.stderr)
    if args.check_browser:
        return _check_browser(page)
    return 0


def _check_browser(page: Path) -> int:
    from steering_core.report.browser import BrowserError, check_images

    try:
        images = check_images(page)
    except BrowserError as error:
        print(f"browser check: {error}", file=sys.stderr)
        return 1
    broken = [i for i in images if not i.loaded]
    for image in images:
        print(f"  {'ok  ' if image.loaded else 'FAIL'} {image.src} ({image.width}x{image.height})")
    print(f"browser check: {len(images) - len(broken)}/{len(images)} images loaded")
    return 1 if broken or not images else 0


def cmd_plot(args: argparse.Namespace) -> int:
    """Render one figure from a recorded data JSON."""
    from steering_core.plots.data import HeatmapData, PhaseData
    from steering_core.plots.registry import spec
    from steering_core.plots.style import image_format, pixel_size, save

    figure_spec = spec(args.figure)
    out = Path(args.out)
    image_format(out)  # refuse a bad suffix before drawing
    raw = read_json(args.data, "data")
    value: Any
    if args.figure == "phase":
        value = PhaseData.from_dict(raw, layer=args.layers[0] if args.layers else None)
    elif args.figure == "heatmap":
        value = HeatmapData.from_dict(raw, metric=args.metric)
    else:
        value = figure_spec.read(raw)
    fig = figure_spec.draw(value)
    save(fig, out)
    width, height = pixel_size(fig)
    print(f"wrote {out} ({args.figure}, {width}x{height} px)")
    return 0


def add_subcommands(sub: Any) -> None:
    """Add ``report`` and ``plot`` to the ``steer`` sub-parsers."""

    p = sub.add_parser("report", help="HTML report: figures, verification matrix, certificates, benchmarks")
    p.add_argument("--out", default="report", help="output folder (replaced atomically; default: report)")
    add_model(p)
    add_style(p)
    add_layers(p, single=True, help=f"layer of the phase diagram, basins and lens eval (default {DEFAULT_LAYER})")
    add_alpha(p, help=f"alpha of the anatomy ratio and the lens eval (default {DEFAULT_ALPHA:g})")
    p.add_argument("--sweep", default=None, help="sweep JSON (steer sweep --json) instead of a live quick sweep")
    p.add_argument(
        "--behaviour", default=None, help="behaviour report JSON (default: out/behaviour/behaviour.json if present)"
    )
    p.add_argument("--bench", default=None, help="benchmark report JSON (default: out/bench/report.json if present)")
    p.add_argument(
        "--conformance", default=None, help="folder of steer conform records (default: out/conformance if present)"
    )
    p.add_argument("--vector", action="append", default=[], help="certified vector file to verify (repeatable)")
    p.add_argument("--quick", action="store_true", help="no generation: skip the live sweep and lens eval")
    p.add_argument(
        "--matrix",
        choices=MATRIX_MODES,
        default="fast",
        help="verification matrix: fast (seconds: links, Lean kernel), smt (~45 s), full (= steer spec, minutes)",
    )
    p.add_argument("--matrix-json", default=None, help="recorded matrix (an earlier report's data/matrix.json)")
    p.add_argument("--from-data", default=None, help="rebuild from an earlier report's data/ folder (no model)")
    p.add_argument("--sweep-layers", type=_ints, default=None, help="live sweep layers (default: depth quartiles)")
    p.add_argument(
        "--sweep-alphas", type=_floats, default=None, help=f"live sweep alphas (default: {list(REPORT_SWEEP_ALPHAS)})"
    )
    p.add_argument(
        "--sweep-prompts", type=int, default=None, help=f"live sweep prompts (default: {REPORT_SWEEP_PROMPTS})"
    )
    p.add_argument(
        "--max-new-tokens", type=int, default=None, help=f"live sweep new tokens (default: {REPORT_SWEEP_TOKENS})"
    )
    p.add_argument(
        "--lens-tokens", type=int, default=None, help=f"live lens eval new tokens (default: {REPORT_LENS_TOKENS})"
    )
    p.add_argument(
        "--check-browser", action="store_true", help="open the page in headless Chromium; fail on a broken image"
    )
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("plot", help="render one figure from recorded data (PNG or SVG)")
    p.add_argument("figure", choices=list(FIGURE_NAMES), help="which figure")
    p.add_argument("--data", required=True, help="the figure's data JSON (see steering_core.plots.data)")
    p.add_argument("--out", required=True, help="FILE.png or FILE.svg")
    add_layers(p, default=None, single=True, help="phase: the layer to draw (default: from the data)")
    p.add_argument("--metric", default=None, help="heatmap: 'words' (default) or a recorded style metric")
    p.set_defaults(func=cmd_plot)


def build_parser() -> argparse.ArgumentParser:
    """A standalone parser with only ``report`` and ``plot`` (for tests and ``python -m``)."""
    parser = argparse.ArgumentParser(prog="steer", description="Steering reports and figures.")
    sub = parser.add_subparsers(dest="command", required=True)
    add_subcommands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``report`` or ``plot`` standalone (same error handling as ``steer``)."""
    return run_parser(build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
