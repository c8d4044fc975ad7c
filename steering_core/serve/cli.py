"""``steer serve``: load a model, verify the vectors of a folder, serve them over HTTP (uvicorn).

The server listens on 127.0.0.1 (loopback) unless ``--host`` says otherwise; with a
non-loopback host and no ``--api-key`` it warns. FastAPI and uvicorn come with the ``serve``
extra (``pip install 'steering-spec[serve]'``).
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys
from typing import Any

from steering_core.cli_options import add_model

# deferred imports: command handlers import what they run inside the handler, so that building
# the parser at start-up (steer --help, argument errors) loads no torch, transformers, matplotlib
# or z3 (tests/refactor/test_startup.py).

DEFAULTS: dict[str, Any] = {
    "host": "127.0.0.1",
    "port": 8000,
    "max_batch": 16,
    "max_concurrent": 64,
    "max_tokens": 1024,
    "default_max_tokens": 256,
    "max_body_bytes": 1 << 20,
    "timeout": 300.0,
}


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text}")
    return value


def add_subcommand(sub: Any) -> None:
    """Register ``steer serve`` on the ``steer`` subparsers."""
    p = sub.add_parser("serve", help="OpenAI-compatible HTTP server; each request steers with certified vectors")
    add_model(p, default="embedded", help="embedded, smollm2, a local folder, or a cached HF id")
    p.add_argument("--vectors", required=True, help="folder of certified .safetensors files (each verified)")
    p.add_argument("--public-key", default=None, help="require every vector to be signed by this key")
    p.add_argument("--host", default=DEFAULTS["host"], help="listen address (default: loopback only)")
    p.add_argument("--port", type=int, default=DEFAULTS["port"])
    p.add_argument("--api-key", default=None, help="require 'Authorization: Bearer KEY' on /v1/*")
    p.add_argument("--max-batch", type=_positive_int, default=DEFAULTS["max_batch"], help="rows per forward pass")
    p.add_argument(
        "--max-concurrent",
        type=_positive_int,
        default=DEFAULTS["max_concurrent"],
        help="admitted requests (429 beyond)",
    )
    p.add_argument("--max-tokens", type=_positive_int, default=DEFAULTS["max_tokens"], help="cap on max_tokens")
    p.add_argument("--default-max-tokens", type=_positive_int, default=DEFAULTS["default_max_tokens"])
    p.add_argument("--max-body-bytes", type=_positive_int, default=DEFAULTS["max_body_bytes"])
    p.add_argument("--timeout", type=_positive_float, default=DEFAULTS["timeout"], help="per-request seconds")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.add_argument(
        "--engine",
        default="hf",
        choices=["hf", "vllm"],
        help="hf (default) or vllm (stock vLLM with steering hooks; needs the vLLM environment, make vllm)",
    )
    p.add_argument(
        "--max-model-len",
        type=_positive_int,
        default=None,
        help="vllm engine: context length, prompt + new tokens (default: the model's)",
    )
    p.set_defaults(func=cmd_serve)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the server until interrupted."""
    try:
        import uvicorn
    except ImportError:
        print("steer: error: steer serve needs the serve extra: pip install 'steering-spec[serve]'", file=sys.stderr)
        return 2
    from steering_core.certify.verify import read_public_key
    from steering_core.models import load_model
    from steering_core.serve.app import ServeSettings, create_app
    from steering_core.serve.vectors import load_vector_set

    if getattr(args, "engine", "hf") == "vllm":
        import importlib.util

        if importlib.util.find_spec("vllm") is None:
            message = "--engine vllm needs vLLM: make vllm, then run .venv-vllm/bin/steer serve"
            print(f"steer: error: {message}", file=sys.stderr)
            return 2
    logging.basicConfig(level=getattr(logging, args.log_level.upper()), format="%(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("steering_core.serve")
    if not _loopback(args.host) and args.api_key is None:
        log.warning("serve: listening on %s without --api-key: anyone who can reach it may use it", args.host)
    loaded = load_model(args.model)
    key = read_public_key(args.public_key)
    vectors = load_vector_set(args.vectors, loaded, key)
    log.info(
        "serve: %d vector(s) served (%s), %d refused",
        len(vectors.vectors),
        ", ".join(vectors.vectors),
        len(vectors.skipped),
    )
    ids = tuple(dict.fromkeys([loaded.name, args.model]))
    settings = ServeSettings(
        model_ids=ids,
        max_batch=args.max_batch,
        max_concurrent=args.max_concurrent,
        default_max_tokens=min(args.default_max_tokens, args.max_tokens),
        max_tokens=args.max_tokens,
        max_body_bytes=args.max_body_bytes,
        request_timeout_s=args.timeout,
        api_key=args.api_key,
    )
    engine = None
    if getattr(args, "engine", "hf") == "vllm":
        from steering_core.serve.engine_vllm import VllmServeEngine

        engine = VllmServeEngine(loaded, vectors, args.max_batch, args.max_concurrent, args.max_model_len)
    app = create_app(loaded, vectors, settings, engine)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)
    return 0
