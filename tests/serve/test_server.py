"""``steer serve`` over real HTTP on a tiny random model: API, equality with ``generate``, limits, errors."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.serve.conftest import Served, TinyWorld


def chat_body(
    content: str, steering: list[dict[str, Any]] | None = None, max_tokens: int = 24, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": content}], "max_tokens": max_tokens}
    if steering is not None:
        body["steering"] = steering
    body["return_token_ids"] = True
    body.update(extra)
    return body


def post(url: str, path: str, body: Any, **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{url}{path}", json=body, timeout=120, **kwargs)


def wait_idle(url: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        health = httpx.get(f"{url}/health", timeout=5).json()
        engine = health["engine"]
        idle = engine["admitted"] == 0 and engine["running"] == 0 and engine["kv_cache_bytes"] == 0
        if idle and engine.get("trim_pending", 0) == 0:  # and the burst's peak memory handed back
            return dict(health)
        if time.monotonic() > deadline:
            raise AssertionError(f"server not idle after {timeout} s: {health}")
        time.sleep(0.05)


# ----------------------------------------------------------------------------- start-up
def test_startup_serves_verified_vectors_and_logs_refused_files(served: Served) -> None:
    listing = httpx.get(f"{served.url}/v1/vectors", timeout=10).json()
    names = [v["name"] for v in listing["data"]]
    assert names == ["drywit-L2", "formal-L2", "socratic-L1", "terse-L1"]
    first = listing["data"][0]
    assert first["layers"] == [2] and first["safe_alpha_range"][0] == -first["safe_alpha_range"][1] < 0
    assert set(first["model_fingerprint"]) == {"config_sha256", "weights_sha256"}
    assert first["signer"] is None and first["signed"] is False
    skipped = {s["file"]: s["reason"] for s in listing["skipped"]}
    assert set(skipped) == {"tampered.safetensors", "notes.txt", "other-model.safetensors"}
    assert "digest" in skipped["tampered.safetensors"]
    assert "fingerprint" in skipped["other-model.safetensors"]
    log = served.log()
    for name in skipped:
        assert f"not serving {name}" in log
    assert "Uvicorn running on http://127.0.0.1:" in log  # loopback by default


def test_models_and_health(served: Served) -> None:
    models = httpx.get(f"{served.url}/v1/models", timeout=10).json()
    assert models["object"] == "list" and models["data"][0]["object"] == "model"
    health = httpx.get(f"{served.url}/health", timeout=10).json()
    assert health["status"] == "ok" and health["limits"]["max_batch"] == 16


# ----------------------------------------------------------------------------- equality
CASES = [
    ("What is a mutex?", []),
    ("What is a mutex?", [("terse-L1", 1.0, "all")]),
    ("Explain the seasons.", [("formal-L2", -0.5, "generated")]),
    ("hello", [("socratic-L1", 0.75, "prompt"), ("drywit-L2", 1.0, "all")]),
]


@pytest.mark.parametrize(("content", "terms"), CASES)
def test_chat_completion_equals_generate_alone(
    served: Served, tiny_world: TinyWorld, content: str, terms: list[tuple[str, float, str]]
) -> None:
    steering = [{"vector": n, "alpha": a, "positions": p} for n, a, p in terms]
    response = post(served.url, "/v1/chat/completions", chat_body(content, steering, max_tokens=30))
    assert response.status_code == 200, response.text
    data = response.json()
    choice = data["choices"][0]
    tokens, text = tiny_world.reference(content, terms, 30)
    assert choice["token_ids"] == tokens
    assert choice["message"]["content"].strip() == text
    assert data["usage"]["completion_tokens"] == len(tokens)
    assert choice["finish_reason"] == ("length" if len(tokens) == 30 else "stop")
    assert data["steering"] == steering


def test_steering_changes_tokens_and_plain_is_unsteered(served: Served, tiny_world: TinyWorld) -> None:
    """Guard against vacuous equality: each vector moves the tokens at these alphas."""
    plain = post(served.url, "/v1/chat/completions", chat_body("What is a mutex?", max_tokens=30)).json()
    for name in tiny_world.safe:
        steered = post(
            served.url, "/v1/chat/completions", chat_body("What is a mutex?", [{"vector": name, "alpha": 1.0}], 30)
        ).json()
        assert steered["choices"][0]["token_ids"] != plain["choices"][0]["token_ids"], name


def test_completions_equal_generate_without_template(served: Served, tiny_world: TinyWorld) -> None:
    body = {"prompt": "Once upon a time", "max_tokens": 20, "return_token_ids": True}
    body["steering"] = [{"vector": "terse-L1", "alpha": 0.5}]
    data = post(served.url, "/v1/completions", body).json()
    tokens, text = tiny_world.reference("Once upon a time", [("terse-L1", 0.5, "all")], 20, chat=False)
    assert data["object"] == "text_completion"
    assert data["choices"][0]["token_ids"] == tokens
    assert data["choices"][0]["text"].strip() == text


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/completions"])
def test_streaming_equals_non_streaming(served: Served, path: str) -> None:
    if path == "/v1/chat/completions":
        body = chat_body("Tell me about rain.", [{"vector": "formal-L2", "alpha": 0.5}], max_tokens=40)
    else:
        body = {"prompt": "Tell me about rain.", "max_tokens": 40, "return_token_ids": True}
    whole = post(served.url, path, body).json()["choices"][0]
    pieces: list[str] = []
    ids: list[int] = []
    reasons: list[str] = []
    done = False
    with httpx.stream("POST", f"{served.url}{path}", json=dict(body, stream=True), timeout=120) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if not line.startswith("data: "):
                continue
            payload = line[len("data: ") :]
            if payload == "[DONE]":
                done = True
                break
            choice = json.loads(payload)["choices"][0]
            pieces.append(choice["delta"].get("content") or "" if "delta" in choice else choice["text"])
            ids.extend(choice.get("token_ids") or [])
            if choice["finish_reason"]:
                reasons.append(choice["finish_reason"])
    text = whole["message"]["content"] if "message" in whole else whole["text"]
    assert done and "".join(pieces) == text
    assert ids == whole["token_ids"]
    assert reasons == [whole["finish_reason"]]


# ----------------------------------------------------------------------------- bad input
TERSE = '{"messages":[{"role":"user","content":"x"}],"steering":[{"vector":"terse-L1","alpha":%s}]}'
BAD: list[tuple[str, Any, int, str | None]] = [
    ("/v1/chat/completions", b'{"messages": [', 400, "body"),
    ("/v1/chat/completions", b"[1, 2]", 400, "body"),
    ("/v1/chat/completions", {"messages": []}, 400, "messages"),
    ("/v1/chat/completions", {"messages": [{"role": "robot", "content": "x"}]}, 400, "messages[0].role"),
    ("/v1/chat/completions", chat_body("x", [{"vector": "nope", "alpha": 0.1}]), 400, "steering[0].vector"),
    ("/v1/chat/completions", chat_body("x", [{"vector": "terse-L1", "alpha": 50.0}]), 400, "steering[0].alpha"),
    (
        "/v1/chat/completions",
        (TERSE % "NaN").encode(),
        400,
        "steering[0].alpha",
    ),
    (
        "/v1/chat/completions",
        (TERSE % "Infinity").encode(),
        400,
        "steering[0].alpha",
    ),
    (
        "/v1/chat/completions",
        chat_body("x", [{"vector": "terse-L1", "alpha": 1e300}], allow_unsafe=True),
        400,
        "steering[0].alpha",
    ),
    (
        "/v1/chat/completions",
        chat_body("x", [{"vector": "terse-L1", "alpha": 0.1, "positions": "middle"}]),
        400,
        "steering[0].positions",
    ),
    ("/v1/chat/completions", chat_body("x", [{"vector": "terse-L1", "alpha": 0.1}] * 9), 400, "steering"),
    ("/v1/chat/completions", chat_body("x", [{"vector": "terse-L1", "alpha": "big"}]), 400, "steering[0].alpha"),
    ("/v1/chat/completions", chat_body("x", max_tokens=0), 400, "max_tokens"),
    ("/v1/chat/completions", chat_body("x", max_tokens=100000), 400, "max_tokens"),
    ("/v1/chat/completions", chat_body("x", max_tokens=250), 400, "max_tokens"),  # past the tiny context (256)
    ("/v1/chat/completions", chat_body("x", temperature=0.7), 400, "temperature"),
    ("/v1/chat/completions", chat_body("x", n=2), 400, "n"),
    ("/v1/chat/completions", chat_body("x", logprobs=True), 400, "logprobs"),
    ("/v1/chat/completions", chat_body("x", model="gpt-4"), 404, "model"),
    ("/v1/completions", {"prompt": ""}, 400, "prompt"),
    ("/v1/completions", {"prompt": "x", "echo": True}, 400, "echo"),
]


@pytest.mark.parametrize(("path", "body", "status", "param"), BAD)
def test_bad_input_is_a_4xx_naming_the_field(served: Served, path: str, body: Any, status: int, param: str) -> None:
    if isinstance(body, bytes):
        response = httpx.post(f"{served.url}{path}", content=body, headers={"content-type": "application/json"})
    else:
        response = post(served.url, path, body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["param"] == param, error
    assert param.split("[")[0].split(".")[0] in error["message"] or param == "body"


def test_body_over_the_limit_is_413(served: Served) -> None:
    big = chat_body("x" * (2 << 20))
    response = post(served.url, "/v1/chat/completions", big)
    assert response.status_code == 413 and response.json()["error"]["param"] == "body"
    # Chunked (no Content-Length) is counted too.
    chunks = (b"x" * 65536 for _ in range(40))
    response = httpx.post(f"{served.url}/v1/completions", content=chunks, headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_unsafe_alpha_is_served_only_when_allowed(served: Served, tiny_world: TinyWorld) -> None:
    bound = tiny_world.safe["terse-L1"]
    alpha = 2.5 * bound
    refused = post(served.url, "/v1/chat/completions", chat_body("hi", [{"vector": "terse-L1", "alpha": alpha}]))
    assert refused.status_code == 400
    assert f"[{-bound:g}, {bound:g}]" in refused.json()["error"]["message"]
    allowed = post(
        served.url, "/v1/chat/completions", chat_body("hi", [{"vector": "terse-L1", "alpha": alpha}], allow_unsafe=True)
    )
    assert allowed.status_code == 200
    tokens, _ = tiny_world.reference("hi", [("terse-L1", alpha, "all")], 24)
    assert allowed.json()["choices"][0]["token_ids"] == tokens


def test_unknown_route_and_method_are_json_4xx(served: Served) -> None:
    response = httpx.get(f"{served.url}/v1/nothing", timeout=10)
    assert response.status_code == 404 and "error" in response.json()
    response = httpx.get(f"{served.url}/v1/chat/completions", timeout=10)
    assert response.status_code == 405 and "error" in response.json()


def test_the_worker_survives_bad_input(served: Served) -> None:
    for body in (b"{", b"null", b'{"messages": 3}', b"\xff\xfe"):
        httpx.post(f"{served.url}/v1/chat/completions", content=body, headers={"content-type": "application/json"})
    assert post(served.url, "/v1/chat/completions", chat_body("still there?", max_tokens=4)).status_code == 200
    assert served.proc.poll() is None


# ----------------------------------------------------------------------------- slots
def test_client_disconnecting_mid_stream_frees_its_slot(served: Served) -> None:
    wait_idle(served.url)
    before = httpx.get(f"{served.url}/health", timeout=5).json()["engine"]
    body = chat_body("Keep talking.", [{"vector": "terse-L1", "alpha": 0.5}], max_tokens=200)
    with httpx.stream(
        "POST", f"{served.url}/v1/chat/completions", json=dict(body, stream=True), timeout=60
    ) as response:
        lines = response.iter_lines()
        got = 0
        for line in lines:
            if line.startswith("data: "):
                got += 1
            if got >= 3:
                break
    # Connection closed after 3 events, long before 200 tokens.
    after = wait_idle(served.url)["engine"]
    assert after["admitted"] == 0 and after["kv_cache_bytes"] == 0
    steps = after["decode_steps"] - before["decode_steps"]
    assert steps < 190, f"the engine kept decoding for the gone client ({steps} steps)"


def test_concurrency_limit_answers_429_and_frees_slots(start_inprocess: Callable[..., str]) -> None:
    url = start_inprocess(max_batch=1, max_concurrent=2, max_tokens=200)
    statuses: list[int] = []
    lock = threading.Lock()

    def one() -> None:
        response = post(url, "/v1/chat/completions", chat_body("long answer please", max_tokens=200))
        with lock:
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert response.json()["error"]["code"] == "concurrency_limit"

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(set(statuses)) == [200, 429] and statuses.count(200) >= 2
    wait_idle(url)
    assert post(url, "/v1/chat/completions", chat_body("again", max_tokens=3)).status_code == 200


def test_request_timeout_is_408_and_frees_the_slot(start_inprocess: Callable[..., str]) -> None:
    url = start_inprocess(request_timeout_s=0.05, max_tokens=200)
    response = post(url, "/v1/chat/completions", chat_body("x", max_tokens=200))
    assert response.status_code == 408 and response.json()["error"]["code"] == "timeout"
    wait_idle(url)


def test_api_key_is_required_when_set(start_inprocess: Callable[..., str]) -> None:
    url = start_inprocess(api_key="s3cret")
    assert httpx.get(f"{url}/v1/models", timeout=10).status_code == 401
    assert httpx.get(f"{url}/v1/models", headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 401
    ok = httpx.get(f"{url}/v1/models", headers={"Authorization": "Bearer s3cret"}, timeout=10)
    assert ok.status_code == 200
    response = post(url, "/v1/chat/completions", chat_body("x", max_tokens=2))
    assert response.status_code == 401 and response.json()["error"]["param"] == "authorization"
    assert httpx.get(f"{url}/health", timeout=10).status_code == 200  # liveness stays open


def test_cli_defaults_to_loopback() -> None:
    from steering_core.cli import build_parser

    args = build_parser().parse_args(["serve", "--vectors", "DIR"])
    assert args.host == "127.0.0.1" and args.api_key is None and args.model == "embedded"
