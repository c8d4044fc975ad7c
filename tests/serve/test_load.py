"""Load and isolation: 32 concurrent requests mixing 4 vectors, 2 alphas and plain requests.

Every response must equal the same request run alone through ``generate`` (under ``steer()``
for the steered ones, on the unhooked model for the plain ones), the engine must actually have
batched them, and once idle the server's memory must be back at its baseline (no KV cache held,
RSS within a bound of the warm baseline and not growing from one round to the next).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.serve.conftest import VECTORS, Served, TinyWorld
from tests.serve.test_server import wait_idle

PROMPTS = [
    "What is a mutex?",
    "Explain the seasons.",
    "hello",
    "Why is the sky blue? Answer briefly.",
    "List three fruits.",
    "Describe a cat",
    "How do tides work?",
    "Tell me a fact about Mars, please.",
]
RSS_SLACK = 48 << 20  # allocator slack allowed over the warm baseline (bytes)
ROUND_GROWTH = 16 << 20  # allowed RSS growth from one identical round to the next


def mixed_requests(names: list[str], alphas: tuple[float, float], n: int = 32) -> list[dict[str, Any]]:
    """``n`` requests: 4 vectors x 2 alphas (3 each) and plain ones, varied prompts and lengths."""
    requests: list[dict[str, Any]] = []
    for i in range(n):
        config = i % 9  # 0..7 steered (vector, alpha), 8 plain
        terms = [] if config == 8 else [(names[config % 4], alphas[config // 4], ("all", "generated")[i % 2])]
        requests.append(
            {
                "content": PROMPTS[i % len(PROMPTS)],
                "terms": terms,
                "max_tokens": 12 + (i * 7) % 29,
                "stream": i % 5 == 0,
            }
        )
    return requests


def _call(url: str, request: dict[str, Any]) -> list[int]:
    body = {
        "messages": [{"role": "user", "content": request["content"]}],
        "max_tokens": request["max_tokens"],
        "steering": [{"vector": n, "alpha": a, "positions": p} for n, a, p in request["terms"]],
        "return_token_ids": True,
    }
    if not request["stream"]:
        response = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=600)
        assert response.status_code == 200, response.text
        return list(response.json()["choices"][0]["token_ids"])
    ids: list[int] = []
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=dict(body, stream=True), timeout=600) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: {"):
                import json

                ids.extend(json.loads(line[6:])["choices"][0].get("token_ids") or [])
    return ids


def run_round(url: str, requests: list[dict[str, Any]]) -> list[list[int]]:
    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(lambda r: _call(url, r), requests))


def check_load(
    url: str, requests: list[dict[str, Any]], reference: Callable[[str, list[tuple[str, float, str]], int], list[int]]
) -> dict[str, Any]:
    # Warm-up: one identical round, then the idle baseline. The first burst of a shape fills
    # one-time caches that are not leaks: a malloc arena per client thread (32 here), MKL's packing
    # buffers for the batch shapes, pymalloc pools. Measured on the embedded model with a 4-request
    # warm-up instead, RSS after the first 32-request round was +90 MB over the baseline, and the
    # engine alone (no HTTP) stayed within 2364-2426 MB over three further 32-job bursts (no growth).
    run_round(url, requests)
    baseline = wait_idle(url, timeout=120)
    start = time.monotonic()
    first = run_round(url, requests)
    elapsed = time.monotonic() - start
    after_first = wait_idle(url, timeout=120)
    second = run_round(url, requests)
    after_second = wait_idle(url, timeout=120)
    assert first == second, "the same requests gave different tokens from one round to the next"
    for request, tokens in zip(requests, first, strict=True):
        want = reference(request["content"], request["terms"], request["max_tokens"])
        assert tokens == want, request
    engine = after_second["engine"]
    assert engine["admitted"] == engine["running"] == engine["waiting"] == engine["kv_cache_bytes"] == 0
    assert engine["engine_errors"] == 0
    assert engine["max_rows_seen"] >= 8, f"the requests were not batched: {engine}"
    if sys.platform == "linux":  # glibc: the engine handed each burst's freed memory back when idle
        assert engine["memory_trims"] >= 3, engine
    assert after_first["rss_bytes"] <= baseline["rss_bytes"] + RSS_SLACK, (baseline, after_first)
    assert after_second["rss_bytes"] <= after_first["rss_bytes"] + ROUND_GROWTH, (after_first, after_second)
    return {
        "seconds": elapsed,
        "rss_baseline": baseline["rss_bytes"],
        "rss_after": after_second["rss_bytes"],
        "max_rows": engine["max_rows_seen"],
    }


def test_32_concurrent_mixed_requests_each_equal_their_solo_reference(served: Served, tiny_world: TinyWorld) -> None:
    names = [name for name, _, _ in VECTORS]
    requests = mixed_requests(names, (1.0, -0.5))
    assert sum(1 for r in requests if not r["terms"]) >= 3

    def reference(content: str, terms: list[tuple[str, float, str]], max_tokens: int) -> list[int]:
        return tiny_world.reference(content, terms, max_tokens)[0]

    stats = check_load(served.url, requests, reference)
    print(f"tiny load: {stats}")


@pytest.mark.slow
def test_32_concurrent_mixed_requests_on_the_embedded_model(tmp_path: Any) -> None:
    """The same check on the embedded real model (minutes on 2 cores): vectors certified here, in-process server."""
    import threading

    import torch
    import uvicorn

    from steering_core.certify import Protocol, certify_vector, load_certified, write_certified
    from steering_core.extract import extract
    from steering_core.generate import generate_tokens
    from steering_core.models import load_model
    from steering_core.serve.app import ServeSettings, create_app
    from steering_core.serve.vectors import load_vector_set
    from steering_core.steer import steer
    from tests.serve.conftest import free_port, wait_healthy

    torch.set_num_threads(2)
    lm = load_model()
    protocol = Protocol(calibration_prompts=2, behaviour_prompts=2, max_new_tokens=12, alphas=(0.05, 0.5, 8.0))
    names: list[str] = []
    for style, layer in (("terse", 12), ("formal", 12), ("socratic", 16), ("dry-wit", 8)):
        name = f"{style}-L{layer}"
        certified = certify_vector(lm, extract(lm, style=style, layers=[layer]), protocol=protocol)
        write_certified(tmp_path / f"{name}.safetensors", certified)
        names.append(name)
    vectors = load_vector_set(tmp_path, lm)
    assert sorted(vectors.vectors) == sorted(names), vectors.skipped
    alphas = (0.5 * min(v.safe_alpha_max for v in vectors.vectors.values()), -0.25)
    requests = mixed_requests(names, alphas)
    for r in requests:
        r["max_tokens"] = 8 + r["max_tokens"] % 9
    settings = ServeSettings(model_ids=(lm.name,), max_batch=32, request_timeout_s=1800)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(lm, vectors, settings), host="127.0.0.1", port=port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url)

        def reference(content: str, terms: list[tuple[str, float, str]], max_tokens: int) -> list[int]:
            from contextlib import ExitStack

            with ExitStack() as stack:
                for name, alpha, positions in terms:
                    vector = load_certified(tmp_path / f"{name}.safetensors")
                    stack.enter_context(steer(lm, vector, alpha, layers=vector.layer_indices, positions=positions))  # type: ignore[arg-type]
                return generate_tokens(lm, [content], max_tokens)[0]

        stats = check_load(url, requests, reference)
        print(f"embedded load: {stats}")
    finally:
        server.should_exit = True
        thread.join(timeout=60)
