"""The ``steer`` command line.

Subcommands, grouped by the object they act on (one vocabulary: ``--model``, ``--style``,
``--alpha``, ``--layers 12`` or ``--layers 6,12``, ``--json FILE``; see :mod:`.cli_options`):

* ``steer prepare [--model M]``: assemble, verify and convert an embedded model once.
* ``steer generate --style terse --alpha 0.5 --layers 12 --prompt "..."``: baseline and steered
  answers side by side, with word counts and the perturbation ratio.
* ``steer diagnose [--style S] [--alpha A]``: per-layer residual norms, vector norm, ratio, SNR.
* ``steer sweep --style S --layers 8,12 --alphas 0.25,0.5,1``: words, ratio and phase per cell,
  thresholds per layer; ``--json FILE`` writes everything.
* ``steer fold --style S --alpha A --layers L --out DIR``: steered weights as a normal model folder.
* ``steer spec``: the verification matrix (property x checker), non-zero exit on any gap.
* ``steer vector certify | verify | sign | keygen | export-gguf | import-gguf``: certified vectors
  (see :mod:`steering_core.certify`).
* ``steer behaviour calibrate | run | lens``: behavioural style contracts, prompt-vs-injection,
  the 12 lens scores (baseline against steered).
* ``steer conform --backend B``: the conformance kit (``steering_core/data/conformance.toml``) on one backend.
* ``steer cprr board | run | cite | check``: the conjecture registry (``steering_core/data/cprr/``).
* ``steer report --out report/`` / ``steer plot FIGURE --data JSON --out FILE``: figures and the HTML report.
* ``steer serve``: the OpenAI-compatible server.

Old spellings (``steer certify``, ``steer verify``, ..., ``steer lens``, ``--layer N``) still work
for one release and print a one-line deprecation note on stderr.

Slow steps show progress bars on stderr. Errors of our own (bad input, unavailable model) print
one line and exit with status 2. Building the parser imports no heavy module (torch,
transformers, matplotlib, z3): each command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import Any

from steering_core.argtypes import comma_floats as _floats
from steering_core.behaviour.cli import add_subcommands as add_behaviour
from steering_core.behaviour.lens_cli import add_lens_subcommand
from steering_core.certify.cli import add_subcommands as add_vector_commands
from steering_core.cli_options import (
    add_alpha,
    add_json,
    add_layers,
    add_model,
    add_style,
    run_parser,
    subcommands,
)
from steering_core.conformance.cli import add_subcommands as add_conform
from steering_core.cprr.cli import add_subcommands as add_cprr
from steering_core.defaults import DEFAULT_ALPHA, DEFAULT_LAYER
from steering_core.execute.options import add_executor_args
from steering_core.report.cli import add_subcommands as add_report
from steering_core.serve.cli import add_subcommand as add_serve

# deferred imports: command handlers import what they run inside the handler, so that building
# the parser at start-up (steer --help, argument errors) loads no torch, transformers, matplotlib
# or z3 (tests/refactor/test_startup.py).

__all__ = ["DEFAULT_ALPHA", "DEFAULT_LAYER", "build_parser", "main", "run_parser"]


def _progress(total: int, desc: str, enabled: bool) -> Any:
    """A tqdm bar on stderr, only when stderr is a terminal (logs stay readable)."""
    if not enabled or not sys.stderr.isatty():
        return nullcontext(None)
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="tok", file=sys.stderr, leave=False, dynamic_ncols=True)


def _step(bar: Any) -> Callable[[int], None] | None:
    return None if bar is None else bar.update


def _load(args: argparse.Namespace) -> Any:
    from steering_core.models import load_model

    def say(message: str) -> None:
        print(f"[steer] {message}", file=sys.stderr, flush=True)

    return load_model(args.model, progress=say)


def _add_recipe(parser: argparse.ArgumentParser) -> None:
    add_style(parser)
    parser.add_argument("--position", choices=["last", "mean"], default="last", help="read position")
    parser.add_argument("--aggregator", choices=["mean", "pca"], default="mean")
    parser.add_argument("--normalize", action="store_true", help="unit-normalise the vector per layer")


def _extract(lm: Any, args: argparse.Namespace, layers: Sequence[int] | None = None) -> Any:
    from steering_core.extract import extract

    return extract(
        lm,
        style=args.style,
        layers=layers,
        read_at=args.position,
        aggregator=args.aggregator,
        normalize=args.normalize,
    )


def _side_by_side(left_title: str, left: str, right_title: str, right: str, width: int = 56) -> str:
    def column(title: str, text: str) -> list[str]:
        lines = [title, "-" * min(width, max(len(title), 8))]
        for para in text.splitlines() or [""]:
            lines.extend(textwrap.wrap(para, width) or [""])
        return lines

    a, b = column(left_title, left), column(right_title, right)
    rows = max(len(a), len(b))
    a += [""] * (rows - len(a))
    b += [""] * (rows - len(b))
    return "\n".join(f"{x:<{width}} | {y}" for x, y in zip(a, b, strict=True))


def cmd_prepare(args: argparse.Namespace) -> int:
    from steering_core.models import DEFAULT_MODEL, prepare_embedded

    path = prepare_embedded(args.model or DEFAULT_MODEL, progress=lambda m: print(f"[steer] {m}", file=sys.stderr))
    print(path)
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from steering_core.diagnose import residual_norms
    from steering_core.generate import generate, steered_generate
    from steering_core.ops import perturbation_ratio
    from steering_core.prompt_sets import prompt_set
    from steering_core.text import word_count

    (layer,) = args.layers  # --layers: exactly one for generate (checked by the parser)
    lm = _load(args)
    vector = _extract(lm, args, [layer])
    norms = residual_norms(lm, prompt_set(), [layer])
    median = norms[0].median_norm
    ratio = perturbation_ratio(args.alpha, vector.norm(layer), median)
    show = not args.no_progress
    with _progress(args.max_new_tokens, "baseline", show) as bar:
        baseline = generate(lm, [args.prompt], args.max_new_tokens, on_step=_step(bar))[0]
    with _progress(args.max_new_tokens, "steered", show) as bar:
        steered = steered_generate(
            lm,
            vector,
            args.alpha,
            [args.prompt],
            layers=layer,
            positions=args.positions,
            max_new_tokens=args.max_new_tokens,
            on_step=_step(bar),
        )[0]
    bw, sw = word_count(baseline), word_count(steered)
    print(f"model: {lm.name}   style: {args.style}   layer: {layer}   alpha: {args.alpha}", end="")
    print(f"   positions: {args.positions}")
    print(
        f"vector norm: {vector.norm(layer):.3f}   median residual norm (first token excluded): {median:.3f}   "
        f"perturbation ratio |alpha|*|v|/|h|: {ratio:.3f}"
    )
    print(f"prompt: {args.prompt}\n")
    print(_side_by_side(f"baseline ({bw} words)", baseline, f"steered ({sw} words)", steered))
    change = (sw - bw) / bw * 100 if bw else 0.0
    print(f"\nwords: baseline {bw}, steered {sw} ({change:+.0f}%)")
    if args.json:
        _write_json(
            args.json,
            {
                "model": lm.name,
                "style": args.style,
                "layer": layer,
                "alpha": args.alpha,
                "positions": args.positions,
                "prompt": args.prompt,
                "vector_norm": vector.norm(layer),
                "median_residual_norm": median,
                "perturbation_ratio": ratio,
                "baseline": {"text": baseline, "words": bw},
                "steered": {"text": steered, "words": sw},
            },
        )
    return 0


def cmd_diagnose(args: argparse.Namespace) -> int:
    from steering_core.diagnose import diagnose, residual_norms
    from steering_core.prompt_sets import prompt_set

    lm = _load(args)
    vector = _extract(lm, args)
    norms = residual_norms(lm, prompt_set(args.prompt_set))
    rows = diagnose(vector, norms, args.alpha)
    print(f"model: {lm.name}   style: {args.style}   alpha: {args.alpha}   prompt set: {args.prompt_set}")
    header = f"{'layer':>5} {'median|h|':>10} {'first|h|':>10} {'|v|':>9} {'ratio':>8} {'snr':>8}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.layer:>5} {r.median_norm:>10.2f} {r.first_token_norm:>10.1f} {r.vector_norm:>9.3f} "
            f"{r.ratio:>8.3f} {r.snr:>8.3f}"
        )
    if args.json:
        _write_json(args.json, {"model": lm.name, "style": args.style, "rows": [r.to_dict() for r in rows]})
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from steering_core.diagnose import residual_norms
    from steering_core.execute.cli import open_execution
    from steering_core.execute.grids import sweep_grid
    from steering_core.prompt_sets import prompt_set
    from steering_core.sweep import SweepCell, SweepGrid

    lm = _load(args)
    vector = _extract(lm, args, args.layers)
    prompts = prompt_set(args.prompt_set)[: args.n_prompts]
    norms = residual_norms(lm, prompt_set(args.prompt_set), args.layers)

    def report(cell: SweepCell) -> None:
        print(
            f"{cell.layer:>5} {cell.alpha:>7g} {cell.ratio:>7.3f} {cell.mean_words:>7.1f} "
            f"{cell.n_identical:>5} {cell.n_degenerate:>5} {cell.phase:>10}",
            flush=True,
        )

    def say(message: str) -> None:
        print(f"[steer] {message}", file=sys.stderr, flush=True)

    grid = SweepGrid(
        vector=vector,
        layers=args.layers,
        alphas=args.alphas,
        prompts=prompts,
        norms=norms,
        max_new_tokens=args.max_new_tokens,
        positions=args.positions,
    )
    with open_execution(args, [lm], say) as execution:
        result = sweep_grid(execution, lm, grid)
        workers = execution.executor.workers
    print(f"model: {lm.name}   style: {args.style}   prompts: {len(prompts)}   max new tokens: {args.max_new_tokens}")
    print(f"{'layer':>5} {'alpha':>7} {'ratio':>7} {'words':>7} {'same':>5} {'degen':>5} {'phase':>10}")
    print("(same: answers identical to the baseline; degen: degenerate answers; out of the prompt count)")
    for cell in result.cells:
        report(cell)
    print(f"baseline mean words: {result.baseline_mean_words:.1f}")
    for t in result.thresholds():
        print(
            f"layer {t.layer}: dead zone up to {t.dead_max}, effective {t.effective_min}..{t.effective_max}, "
            f"collapse from {t.collapse_min}"
        )
    if args.json:
        execution_info = {"executor": args.executor, "workers": workers, "records": args.records}
        _write_json(args.json, {"model": lm.name, **result.to_dict(), "execution": execution_info})
    return 0


def cmd_fold(args: argparse.Namespace) -> int:
    from steering_core.fold import export_folded
    from steering_core.layers import model_dtype
    from steering_core.ops import steering_delta

    lm = _load(args)
    vector = _extract(lm, args, args.layers)
    dtype = model_dtype(lm.model)
    deltas = {layer: steering_delta(vector[layer], args.alpha, dtype) for layer in args.layers}
    out = export_folded(lm, deltas, args.out)
    print(f"wrote {out}: {lm.name} with {args.style} x {args.alpha} folded into layers {args.layers} (every position)")
    print(f"load it with AutoModelForCausalLM.from_pretrained({str(out)!r})")
    return 0


def cmd_spec(args: argparse.Namespace) -> int:
    from steering_core.formal.matrix import cli_main

    return int(cli_main(list(args.rest)))


def _write_json(path: str, data: dict[str, Any]) -> None:
    """Write ``data`` as JSON to ``path`` atomically (``-``: to stdout)."""
    from steering_core.atomic import write_text_atomic

    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if path == "-":
        sys.stdout.write(text)
        return
    target = write_text_atomic(path, text)
    print(f"wrote {target}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``steer`` (building it imports no heavy module: see :mod:`.cli_options`)."""
    parser = argparse.ArgumentParser(prog="steer", description="Activation steering with checked properties.")
    sub = subcommands(parser, "command")

    p = sub.add_parser("prepare", help="assemble, verify and convert an embedded model (once)")
    add_model(p)
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("generate", help="baseline and steered answers side by side")
    add_model(p)
    _add_recipe(p)
    add_alpha(p)
    add_layers(p, single=True)
    p.add_argument("--positions", choices=["all", "prompt", "generated"], default="all")
    p.add_argument("--prompt", default="Explain what a mutex is.")
    p.add_argument("--max-new-tokens", type=int, default=120)
    add_json(p)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("diagnose", help="per-layer residual norms, vector norms, ratios and SNR")
    add_model(p)
    _add_recipe(p)
    add_alpha(p)
    p.add_argument("--prompt-set", default="neutral-questions-v1")
    add_json(p)
    p.set_defaults(func=cmd_diagnose)

    p = sub.add_parser("sweep", help="alpha sweep: words, ratio and phase per (layer, alpha)")
    add_model(p)
    _add_recipe(p)
    add_layers(p)
    p.add_argument("--alphas", type=_floats, default=[0.1, 0.25, 0.5, 1.0, 2.0, 3.0])
    p.add_argument("--prompt-set", default="neutral-questions-v1")
    p.add_argument("--n-prompts", type=int, default=8)
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--positions", choices=["all", "prompt", "generated"], default="all")
    add_json(p, default="out/sweep.json")
    p.add_argument("--no-progress", action="store_true")
    add_executor_args(p)
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("fold", help="export steered weights (alpha*v folded into biases) as a normal model folder")
    add_model(p)
    _add_recipe(p)
    add_alpha(p)
    add_layers(p)
    p.add_argument("--out", required=True, help="folder to write (replaced atomically)")
    p.set_defaults(func=cmd_fold)

    p = sub.add_parser("spec", help="verification matrix: property x checker; non-zero exit on any gap")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="options passed to the matrix")
    p.set_defaults(func=cmd_spec)

    p = sub.add_parser("vector", help="certified vectors: certify, verify, sign, keygen, export-gguf, import-gguf")
    add_vector_commands(subcommands(p, "vector_command"))
    add_vector_commands(sub, deprecated_prefix="steer vector")  # steer certify, ...: old spellings

    add_behaviour(sub)  # behaviour calibrate | run | lens
    add_lens_subcommand(sub, deprecated=True)  # steer lens: old spelling of steer behaviour lens
    add_cprr(sub)  # cprr board | run | cite | check
    add_conform(sub)  # conform
    add_report(sub)  # report, plot
    add_serve(sub)  # serve (needs the serve extra only when run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``steer`` console script."""
    return run_parser(build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
