"""``serve``: the ``steer serve`` HTTP API as a conformance backend.

The adapter certifies each vector the checks name at each layer they steer (a server steers a
certified file at the layers its certificate holds, so ``v`` at layer L is the file
``v@L<L>``), writes them to a temporary folder, starts the real application
(:func:`steering_core.serve.app.create_app`) on uvicorn in a thread on a free loopback port, and
sends every request over HTTP (``POST /v1/chat/completions``, greedy, ``return_token_ids``,
``allow_unsafe`` since the checks sweep alphas beyond a certificate's safe range). The requests of
one ``generate`` call are sent concurrently, so the server's continuous batching puts them in
shared forward passes. A 4xx answer is raised as :class:`ServeRequestError`.

Capabilities: steer, positions, multi_term, mixed_batch (concurrent requests share batches),
concurrency. Not cache_toggle: the API has no switch for the KV cache.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from steering_core.certify import certify_vector, write_certified
from steering_core.certify.measure import Protocol
from steering_core.conformance.adapters import model_digest
from steering_core.conformance.plan import Request
from steering_core.errors import InvalidParameterError, SteeringError
from steering_core.models import LoadedModel
from steering_core.serve.vectors import load_vector_set
from steering_core.vector import SteeringVector

CREATED = "2026-01-01T00:00:00Z"


class ServeRequestError(SteeringError):
    """The server refused a request (a 4xx); the message is the server's, with the status."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServeBackend:
    """``steer serve`` on ``lm``, started in-process on the first request."""

    name = "serve"
    capabilities = frozenset({"steer", "positions", "multi_term", "mixed_batch", "concurrency"})

    def __init__(self, lm: LoadedModel, layers: Sequence[int] | None = None, timeout_s: float = 600.0) -> None:
        """``layers``: the layers to certify every vector at (default: every layer of the model)."""
        self.lm = lm
        self.layers = tuple(range(lm.num_layers)) if layers is None else tuple(layers)
        self.timeout_s = timeout_s
        self.vectors: dict[str, SteeringVector] = {}
        self._dir = Path(tempfile.mkdtemp(prefix="steer-conform-serve-"))
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._url = ""
        self._lock = threading.Lock()
        self._failed: Exception | None = None

    def add_vector(self, name: str, vector: SteeringVector) -> None:
        if self._server is not None:
            raise InvalidParameterError("vector", "vectors added before the first request", name)
        self.vectors[name] = vector

    def _certify_all(self) -> None:
        # Small but real: a dead, an effective and a collapsing alpha, measured on two prompts.
        protocol = Protocol(calibration_prompts=2, behaviour_prompts=2, max_new_tokens=12, alphas=(1e-4, 1.0, 100.0))
        for name, vector in self.vectors.items():
            for layer in self.layers:
                one = SteeringVector(
                    directions={layer: vector[layer]},
                    hidden_size=vector.hidden_size,
                    num_layers=vector.num_layers,
                    model_name=vector.model_name,
                    style=vector.style,
                    recipe=vector.recipe,
                )
                certified = certify_vector(self.lm, one, protocol=protocol, created=CREATED)
                write_certified(self._dir / f"{name}@L{layer}.safetensors", certified)

    def _start(self) -> None:
        # deferred: fastapi, uvicorn and httpx are the optional serve extra (pyproject [serve]); without it
        # this backend still constructs and its requests report the missing module (see _ensure)
        import httpx
        import uvicorn

        from steering_core.serve.app import ServeSettings, create_app  # deferred: imports fastapi, as above

        self._certify_all()
        served = load_vector_set(self._dir, self.lm)
        settings = ServeSettings(model_ids=(self.lm.name,), max_batch=16, max_concurrent=64, max_tokens=1024)
        port = _free_port()
        config = uvicorn.Config(create_app(self.lm, served, settings), host="127.0.0.1", port=port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        self._url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self._url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise SteeringError(f"steer serve did not become healthy at {self._url}")

    def _ensure(self) -> None:
        with self._lock:
            if self._failed is not None:
                raise self._failed
            if self._server is None:
                try:
                    self._start()
                except Exception as error:  # remembered: every later request fails the same way
                    self._failed = error
                    raise

    def _one(self, request: Request, max_new_tokens: int) -> list[int]:
        import httpx  # deferred: the optional serve extra, as in _start

        steering = []
        for term in request.terms:
            if len(term.layers) != 1:
                raise InvalidParameterError(
                    "layers", "one layer per term (a served vector is certified per layer)", term.layers
                )
            steering.append(
                {"vector": f"{term.vector}@L{term.layers[0]}", "alpha": term.alpha, "positions": term.positions}
            )
        body = {
            "messages": [{"role": "user", "content": request.prompt}],
            "max_tokens": max_new_tokens,
            "temperature": 0,
            "steering": steering,
            "allow_unsafe": True,
            "return_token_ids": True,
        }
        response = httpx.post(f"{self._url}/v1/chat/completions", json=body, timeout=self.timeout_s)
        if response.status_code != 200:
            raise ServeRequestError(f"steer serve answered {response.status_code}: {response.text[:300]}")
        ids = response.json()["choices"][0]["token_ids"]
        return [int(t) for t in ids]

    def generate(self, requests: Sequence[Request], max_new_tokens: int, *, use_cache: bool = True) -> list[list[int]]:
        if not use_cache:
            raise InvalidParameterError("use_cache", "True (the HTTP API has no cache switch)", use_cache)
        self._ensure()
        if len(requests) == 1:
            return [self._one(requests[0], max_new_tokens)]
        with ThreadPoolExecutor(max_workers=len(requests)) as pool:
            return list(pool.map(lambda r: self._one(r, max_new_tokens), requests))

    def state_digest(self) -> str | None:
        return model_digest(self.lm.model)

    def close(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(timeout=30)
        shutil.rmtree(self._dir, ignore_errors=True)
