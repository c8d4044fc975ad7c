"""``steer serve --engine vllm``: the same HTTP API as the Hugging Face engine, on vLLM.

Two real servers (uvicorn on loopback ports, in threads) serve the same application built from
the same model folder and the same verified vectors: one with the Hugging Face engine, one with
:class:`steering_core.serve.engine_vllm.VllmServeEngine`. Bad requests must get the same status
and the same error body from both; a steered request the same tokens; a client that disconnects
mid-stream must free its vLLM slot.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from steering_core.models import LoadedModel
from tests.vllm.conftest import LAYERS, need_vllm, record

pytestmark = [pytest.mark.vllm, pytest.mark.slow]

NAME = f"terse-L{LAYERS['smollm2']}"


@dataclass
class Pair:
    hf: str
    vllm: str
    safe: float
    engine: Any


def _start(app: Any) -> tuple[str, Any, threading.Thread]:
    import uvicorn

    from tests.serve.conftest import free_port, wait_healthy

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, timeout=600)
    return url, server, thread


@pytest.fixture(scope="module")
def pair(smol: LoadedModel, certified_smol: Path) -> Iterator[Pair]:
    need_vllm()
    pytest.importorskip("httpx")
    from steering_core.serve.app import ServeSettings, create_app
    from steering_core.serve.engine_vllm import VllmServeEngine
    from steering_core.serve.vectors import load_vector_set

    folder = certified_smol
    vectors = load_vector_set(folder, smol)
    assert sorted(vectors.vectors) == [NAME], vectors.skipped
    settings = ServeSettings(model_ids=(smol.name, "smollm2"), max_batch=8, max_concurrent=16, max_tokens=256)
    engine = VllmServeEngine(smol, vectors, max_batch=8, max_pending=16)
    servers = []
    try:
        servers.append(_start(create_app(smol, vectors, settings)))
        servers.append(_start(create_app(smol, vectors, settings, engine)))
        yield Pair(servers[0][0], servers[1][0], float(vectors.vectors[NAME].safe_alpha_max), engine)
    finally:
        for _, server, thread in servers:
            server.should_exit = True
            thread.join(timeout=60)
        engine.close()


def _chat(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": "Explain what a mutex is."}], "max_tokens": 8}
    body.update(extra)
    return body


def test_bad_steering_fields_get_the_same_4xx(pair: Pair) -> None:
    import httpx

    cases: list[tuple[str, Any]] = [
        ("unknown vector", _chat(steering=[{"vector": "nope", "alpha": 0.1}])),
        ("alpha above the safe range", _chat(steering=[{"vector": NAME, "alpha": pair.safe * 4 + 1}])),
        ("alpha not a number", _chat(steering=[{"vector": NAME, "alpha": "big"}])),
        ("alpha too large for the schema", _chat(steering=[{"vector": NAME, "alpha": 1e300}])),
        ("unknown positions", _chat(steering=[{"vector": NAME, "alpha": 0.1, "positions": "middle"}])),
        ("extra field in a term", _chat(steering=[{"vector": NAME, "alpha": 0.1, "layer": 3}])),
        ("missing alpha", _chat(steering=[{"vector": NAME}])),
        ("steering not a list", _chat(steering={"vector": NAME, "alpha": 0.1})),
        ("too many terms", _chat(steering=[{"vector": NAME, "alpha": 0.01}] * 9)),
        ("empty vector name", _chat(steering=[{"vector": "", "alpha": 0.1}])),
        ("allow_unsafe not a bool", _chat(steering=[{"vector": NAME, "alpha": 0.1}], allow_unsafe="maybe")),
        ("max_tokens beyond the context", _chat(max_tokens=4096)),
        ("temperature", _chat(temperature=0.7)),
        ("unknown model", _chat(model="gpt-4")),
    ]
    rows = []
    for label, body in cases:
        hf = httpx.post(f"{pair.hf}/v1/chat/completions", json=body, timeout=120)
        vl = httpx.post(f"{pair.vllm}/v1/chat/completions", json=body, timeout=120)
        rows.append({"case": label, "hf": hf.status_code, "vllm": vl.status_code, "param": hf.json()["error"]["param"]})
        assert 400 <= hf.status_code < 500, (label, hf.status_code, hf.text)
        assert (vl.status_code, vl.json()) == (hf.status_code, hf.json()), label
    record("serve-errors", {"cases": rows})


def test_steered_and_plain_requests_give_the_hf_engines_tokens(pair: Pair) -> None:
    import httpx

    results = {}
    for label, extra in (
        ("plain", {}),
        ("steered", {"steering": [{"vector": NAME, "alpha": pair.safe}]}),
        ("generated-only", {"steering": [{"vector": NAME, "alpha": -pair.safe, "positions": "generated"}]}),
    ):
        body = _chat(max_tokens=10, return_token_ids=True, **extra)
        hf = httpx.post(f"{pair.hf}/v1/chat/completions", json=body, timeout=600).json()
        vl = httpx.post(f"{pair.vllm}/v1/chat/completions", json=body, timeout=600).json()
        results[label] = {"hf": hf["choices"][0]["token_ids"], "vllm": vl["choices"][0]["token_ids"]}
        assert vl["choices"][0]["token_ids"] == hf["choices"][0]["token_ids"], label
        assert vl["choices"][0]["message"] == hf["choices"][0]["message"]
        assert vl["steering"] == hf["steering"]
    record("serve-tokens", results)


def test_client_disconnect_frees_the_vllm_slot(pair: Pair) -> None:
    import httpx

    body = _chat(max_tokens=200, stream=True, steering=[{"vector": NAME, "alpha": pair.safe}])
    with httpx.Client(timeout=600) as client, client.stream("POST", f"{pair.vllm}/v1/chat/completions", json=body) as r:
        assert r.status_code == 200
        chunks = 0
        for line in r.iter_lines():
            if line.startswith("data: "):
                chunks += 1
            if chunks >= 3:
                break  # leave mid-stream: the connection closes here
    deadline = time.monotonic() + 120
    engine: dict[str, int] = {}
    while time.monotonic() < deadline:
        engine = httpx.get(f"{pair.vllm}/health", timeout=30).json()["engine"]
        if engine["admitted"] == 0 and engine["running"] == 0:
            break
        time.sleep(0.5)
    assert engine["admitted"] == 0 and engine["running"] == 0, engine
    assert engine["aborted"] >= 1
    assert pair.engine.loop.call(pair.engine.llm.unfinished) == 0
