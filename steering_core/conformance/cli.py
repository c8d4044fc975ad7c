"""``steer conform``: run the conformance kit on one backend and print the property table.

    steer conform --backend hf-hook [--model embedded|smollm2|tiny-qwen2|DIR] [--vector FILE]
                  [--layer L] [--prompts N] [--max-new-tokens K] [--property ID ...] [--json FILE]

Exit status: 0 when no property fails, 1 when one does, 2 for bad arguments (one line, no
traceback). The JSON record goes to ``out/conformance/<backend>.json`` unless ``--json`` names
another file; ``steer report`` shows every record it finds there.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from steering_core.cli_options import add_json, add_layers, add_model

if TYPE_CHECKING:  # annotations only: the parser is built at start-up, before torch loads
    from steering_core.conformance.backend import Backend
    from steering_core.models import LoadedModel

# deferred imports: command handlers import what they run inside the handler, so that building
# the parser at start-up (steer --help, argument errors) loads no torch, transformers, matplotlib
# or z3 (tests/refactor/test_startup.py).

DEFAULT_OUT = Path("out/conformance")
TINY_PREFIX = "tiny-"


def _hook(lm: LoadedModel, args: argparse.Namespace) -> Backend:
    from steering_core.conformance.adapters import HookBackend

    return HookBackend(lm)


def _folded(lm: LoadedModel, args: argparse.Namespace) -> Backend:
    from steering_core.conformance.adapters import FoldedBackend

    return FoldedBackend(lm)


def _export(lm: LoadedModel, args: argparse.Namespace) -> Backend:
    from steering_core.conformance.adapters import ExportBackend

    return ExportBackend(lm)


def _serve(lm: LoadedModel, args: argparse.Namespace) -> Backend:
    from steering_core.conformance.serve_adapter import ServeBackend

    layer = args.layers[0] if args.layers is not None else lm.num_layers // 2
    backend: Backend = ServeBackend(lm, layers=[x for x in (layer - 1, layer, layer + 1) if 0 <= x < lm.num_layers])
    return backend


def _vllm(lm: LoadedModel, args: argparse.Namespace) -> Backend:
    from steering_core.conformance.vllm_adapter import VllmBackend

    backend: Backend = VllmBackend(lm)
    return backend


def _llama_cpp(lm: LoadedModel, args: argparse.Namespace) -> Backend:
    from steering_core.conformance.llama_cpp_adapter import LlamaCppBackend

    backend: Backend = LlamaCppBackend(lm)
    return backend


BACKENDS: dict[str, Callable[[LoadedModel, argparse.Namespace], Backend]] = {
    "hf-hook": _hook,
    "hf-folded": _folded,
    "folded-export": _export,
    "serve": _serve,
    "vllm": _vllm,
    "llama-cpp": _llama_cpp,
}


def load_for_conformance(name: str | None) -> LoadedModel:
    """``tiny-<arch>`` builds a tiny random model (no download); anything else goes to ``load_model``."""
    from steering_core.models import LoadedModel, load_model  # deferred: torch, only when the command runs

    if name is not None and name.startswith(TINY_PREFIX):
        from steering_core.tiny import make_tiny_model, make_tokenizer

        return LoadedModel(
            model=make_tiny_model(name[len(TINY_PREFIX) :]), tokenizer=make_tokenizer(), name=name, source="tiny"
        )
    return load_model(name)


def cmd_conform(args: argparse.Namespace) -> int:
    """Run the kit (see the module docstring)."""
    import torch

    from steering_core.atomic import write_text_atomic
    from steering_core.conformance.fixture import build_fixture
    from steering_core.conformance.run import run_conformance

    lm = load_for_conformance(args.model)
    if lm.source == "tiny":
        torch.set_num_threads(1)  # tiny matmuls only lose time to thread start-up
    vector = None
    if args.vector:
        from steering_core.certify import load_certified

        vector = load_certified(args.vector, model=lm)
    fixture, vectors = build_fixture(
        lm,
        vector,
        layer=args.layers[0] if args.layers is not None else None,
        n_prompts=args.prompts,
        max_new_tokens=args.max_new_tokens,
    )
    backend = BACKENDS[args.backend](lm, args)
    try:
        report = run_conformance(backend, lm.model, lm.tokenizer, vectors, fixture, lm.name, only=args.property)
    finally:
        backend.close()
    print(report.table())
    text = json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
    if args.json == "-":  # --json -: the record on stdout, after the table
        sys.stdout.write(text)
        return 0 if report.passed else 1
    target = Path(args.json) if args.json else DEFAULT_OUT / f"{args.backend}.json"
    write_text_atomic(target, text)
    print(f"wrote {target}", file=sys.stderr)
    return 0 if report.passed else 1


def add_subcommands(sub: Any) -> None:
    """Register ``conform`` on the ``steer`` parser."""
    p = sub.add_parser("conform", help="check a steering backend against the shipped conformance.toml")
    p.add_argument("--backend", required=True, choices=sorted(BACKENDS))
    add_model(p, help="embedded (default), smollm2, tiny-<arch>, a folder or an HF id")
    p.add_argument("--vector", default=None, help="a certified vector file (verified against the model first)")
    add_layers(p, default=None, single=True, help="layer to steer (default: the vector's, else the middle)")
    p.add_argument("--prompts", type=int, default=3, help="how many prompts of neutral-questions-v1")
    p.add_argument("--max-new-tokens", type=int, default=12)
    p.add_argument("--property", action="append", default=None, help="run only this property (repeatable)")
    add_json(p, help=f"where to write the record (default {DEFAULT_OUT}/<backend>.json)")
    p.set_defaults(func=cmd_conform)
