"""Suite 6 -- ``steer serve``: server throughput with mixed vectors, and the cost of per-row steering.

6a. Throughput (embedded model). For each concurrency ``c`` in ``BENCH_SERVE_CONCURRENCY``
    (default 1,4,8,16): ``c`` chat requests with mixed steering (four certified vectors at two
    alphas, every fifth request plain), all sent at once to a real ``steer serve`` application
    (uvicorn, loopback, continuous batching), against the *same* requests run one by one through
    ``steering_core.generate`` under ``steer()``. Tokens/s = completion tokens / wall time; the
    outputs are checked to be the same tokens. The two modes alternate within a round
    (``BENCH_SERVE_ROUNDS``, default 1). Target on 2 cores: >= 2x one-by-one at concurrency 8.
6c. One decode step (batch 8, KV cache, repeated from the same cache): unsteered, per-row
    plans, one plan; ``BENCH_SERVE_STEP_ROUNDS`` (default 25) interleaved rounds.
6b. Per-row steering cost. The same left-padded batch of 8 prompts generated greedily
    (``BENCH_TOKENS`` forced tokens) unsteered, with one plan per row (``steer_rows``: four
    vectors, two alphas, one plain row) and with one plan for all rows (``steer``), interleaved
    over ``BENCH_ROUNDS_REAL`` rounds (tiny models: ``BENCH_ROUNDS``). Target: per-row <= 3%
    over unsteered on the embedded model.

Vectors for 6a are certified on the embedded model with a reduced protocol (2 prompts, 12
tokens, 3 alphas) once per session. Writes ``serve-*.json`` fragments and ``serve.md``.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, nullcontext
from pathlib import Path
from typing import Any

import pytest
import torch

from benchmarks.common import env_int, env_ints, greedy, interleaved, out_dir, write_fragment
from tests.conftest import make_tiny_model

TOKENS = env_int("BENCH_TOKENS", 48)
STYLES = (("terse", 12), ("formal", 12), ("socratic", 16), ("dry-wit", 8))
PROMPTS = [
    "Explain what a mutex is.",
    "What causes rain?",
    "How does a hash map work?",
    "Why do cats purr?",
    "What is photosynthesis?",
    "Describe the water cycle.",
    "What is a prime number?",
    "How do vaccines work?",
]


def _plans(vectors: list[Any], layers: list[int], n: int, alphas: tuple[float, float]) -> list[Any]:
    from steering_core.plan import Term

    plans: list[Any] = []
    for i in range(n):
        if i % 5 == 4:
            plans.append(None)
        else:
            k = i % len(vectors)
            plans.append([Term(vector=vectors[k], alpha=alphas[(i // len(vectors)) % 2], layers=layers[k])])
    return plans


# ----------------------------------------------------------------------------- 6b per-row cost
def measure_rows(model: Any, tokenizer: Any, vectors: list[Any], layers: list[int], rounds: int) -> dict[str, Any]:
    from steering_core.prompts import encode, pad_token_id
    from steering_core.steer import steer, steer_rows

    batch = encode(tokenizer, PROMPTS[:8]) if tokenizer is not None else None
    if batch is None:
        ids = torch.randint(5, 1000, (8, 16), generator=torch.Generator().manual_seed(0))
        mask = torch.ones_like(ids)
        mask[::2, :3] = 0
        pad = 0
    else:
        ids, mask, pad = batch.input_ids, batch.attention_mask, pad_token_id(tokenizer)
    plans = _plans(vectors, layers, 8, (0.5, -0.25))
    plans[7] = None  # at least one plain row

    def run(factory: Any) -> Any:
        def go() -> Any:
            with factory():
                return greedy(model, ids, mask, TOKENS, pad)

        return go

    runs = {
        "unsteered": run(nullcontext),
        "per_row": run(lambda: steer_rows(model, plans)),
        "one_plan": run(lambda: steer(model, vectors[0], 0.5, layers=layers[0])),
    }
    result = interleaved(runs, rounds, "unsteered")
    result.update({"tokens": TOKENS, "batch": 8, "plain_rows": sum(p is None for p in plans)})
    return result


def test_per_row_steering_cost_tiny(benchmark: Any) -> None:
    model = make_tiny_model("qwen3")
    gen = torch.Generator().manual_seed(3)
    vectors = [torch.randn(64, generator=gen) for _ in range(4)]
    layers = [1, 2, 1, 3]
    rounds = env_int("BENCH_ROUNDS", 15)
    result = benchmark.pedantic(measure_rows, args=(model, None, vectors, layers, rounds), rounds=1, iterations=1)
    result["model"] = "tiny-qwen3"
    write_fragment("serve-rows-tiny", result)
    _print_rows("tiny qwen3", result)


def test_per_row_steering_cost_embedded(benchmark: Any, embedded: Any) -> None:
    from steering_core.extract import extract

    vectors = [extract(embedded, style=s, layers=[layer]) for s, layer in STYLES]
    layers = [layer for _, layer in STYLES]
    rounds = env_int("BENCH_ROUNDS_REAL", 10)
    args = (embedded.model, embedded.tokenizer, vectors, layers, rounds)
    result = benchmark.pedantic(measure_rows, args=args, rounds=1, iterations=1)
    result["model"] = embedded.name
    write_fragment("serve-rows-embedded", result)
    _print_rows(embedded.name, result)
    _write_markdown()


def _print_rows(name: str, result: dict[str, Any]) -> None:
    parts = [f"{k} {v['median']:.4f} (IQR {v['q1']:.4f}-{v['q3']:.4f})" for k, v in result["ratios"].items()]
    print(f"\n{name}: batch of 8, ratio to unsteered: " + "; ".join(parts))


# ----------------------------------------------------------------------------- 6a throughput
def _certified_vectors(embedded: Any, folder: Path) -> None:
    from steering_core.certify import Protocol, certify_vector, write_certified
    from steering_core.extract import extract

    protocol = Protocol(calibration_prompts=2, behaviour_prompts=2, max_new_tokens=12, alphas=(0.05, 0.5, 8.0))
    folder.mkdir(parents=True, exist_ok=True)
    for style, layer in STYLES:
        path = folder / f"{style}-L{layer}.safetensors"
        if not path.exists():
            write_certified(
                path, certify_vector(embedded, extract(embedded, style=style, layers=[layer]), protocol=protocol)
            )


def _uncertified_set(embedded: Any) -> Any:
    """``BENCH_SERVE_CERTIFY=0``: serve freshly extracted vectors without certifying them.

    Certification is a start-up cost, not a per-request one, so throughput is the same; the
    placeholder safe range is +-1 and the fragment records ``certified: false``.
    """
    from steering_core.extract import extract
    from steering_core.serve.vectors import ServedVector, VectorSet

    served = VectorSet()
    for style, layer in STYLES:
        name = f"{style}-L{layer}"
        vector = extract(embedded, style=style, layers=[layer])
        fingerprint = {"config_sha256": "", "weights_sha256": ""}
        served.vectors[name] = ServedVector(
            name, "", vector, (layer,), 1.0, 0.5, style, embedded.name, fingerprint, None, False, ""
        )
    return served


def measure_throughput(
    embedded: Any, folder: Path, levels: list[int], rounds: int, tokens: int, certified: bool = True
) -> dict[str, Any]:
    import httpx
    import uvicorn

    from steering_core.generate import generate_tokens
    from steering_core.serve.app import ServeSettings, create_app
    from steering_core.serve.vectors import load_vector_set
    from steering_core.steer import steer
    from tests.serve.conftest import free_port, wait_healthy

    vectors = load_vector_set(folder, embedded) if certified else _uncertified_set(embedded)
    names = sorted(vectors.vectors)
    assert len(names) == len(STYLES), vectors.skipped
    alphas = (0.5 * min(v.safe_alpha_max for v in vectors.vectors.values()), -0.25)
    settings = ServeSettings(model_ids=(embedded.name,), max_batch=max(levels), request_timeout_s=3600)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(embedded, vectors, settings), host="127.0.0.1", port=port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url)

    def requests(c: int) -> list[dict[str, Any]]:
        out = []
        for i in range(c):
            steering = [] if i % 5 == 4 else [{"vector": names[i % 4], "alpha": alphas[(i // 4) % 2]}]
            out.append({"content": PROMPTS[i % len(PROMPTS)], "steering": steering})
        return out

    def served(reqs: list[dict[str, Any]]) -> list[list[int]]:
        def one(r: dict[str, Any]) -> list[int]:
            body = {
                "messages": [{"role": "user", "content": r["content"]}],
                "max_tokens": tokens,
                "steering": r["steering"],
                "return_token_ids": True,
            }
            response = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=3600)
            assert response.status_code == 200, response.text
            return list(response.json()["choices"][0]["token_ids"])

        with ThreadPoolExecutor(max_workers=len(reqs)) as pool:
            return list(pool.map(one, reqs))

    def one_by_one(reqs: list[dict[str, Any]]) -> list[list[int]]:
        out = []
        for r in reqs:
            with ExitStack() as stack:
                for term in r["steering"]:
                    v = vectors.vectors[term["vector"]]
                    stack.enter_context(steer(embedded.model, v.vector, term["alpha"], layers=v.layers))
                out.append(generate_tokens(embedded, [r["content"]], tokens)[0])
        return out

    levels_out: dict[str, Any] = {}
    try:
        served(requests(1))  # warm-up
        for c in levels:
            reqs = requests(c)
            timings: dict[str, list[float]] = {"server": [], "one_by_one": []}
            produced: dict[str, list[list[int]]] = {}
            for index in range(rounds):
                order = ["server", "one_by_one"] if index % 2 == 0 else ["one_by_one", "server"]
                for mode in order:
                    start = time.perf_counter()
                    produced[mode] = served(reqs) if mode == "server" else one_by_one(reqs)
                    timings[mode].append(time.perf_counter() - start)
            n_tokens = sum(len(t) for t in produced["server"])
            same = produced["server"] == produced["one_by_one"]
            server_s, solo_s = min(timings["server"]), min(timings["one_by_one"])
            levels_out[str(c)] = {
                "requests": c,
                "completion_tokens": n_tokens,
                "server_seconds": timings["server"],
                "one_by_one_seconds": timings["one_by_one"],
                "server_tokens_per_s": n_tokens / server_s,
                "one_by_one_tokens_per_s": n_tokens / solo_s,
                "speedup": solo_s / server_s,
                "same_tokens": same,
                "rows_differing": sum(a != b for a, b in zip(produced["server"], produced["one_by_one"], strict=True)),
            }
            print(
                f"\nserve c={c}: {n_tokens} tokens, server {n_tokens / server_s:.2f} tok/s, one by one "
                f"{n_tokens / solo_s:.2f} tok/s, speedup {solo_s / server_s:.2f}x, same tokens {same}"
            )
        stats = httpx.get(f"{url}/health", timeout=10).json()["engine"]
    finally:
        server.should_exit = True
        thread.join(timeout=60)
    return {
        "max_tokens": tokens,
        "rounds": rounds,
        "alphas": list(alphas),
        "certified": certified,
        "levels": levels_out,
        "engine": stats,
    }


def test_server_throughput_embedded(benchmark: Any, embedded: Any) -> None:
    pytest.importorskip("fastapi")
    folder = out_dir() / "serve-vectors"
    certified = env_int("BENCH_SERVE_CERTIFY", 1) != 0
    if certified:
        _certified_vectors(embedded, folder)
    levels = env_ints("BENCH_SERVE_CONCURRENCY", [1, 4, 8, 16])
    rounds = env_int("BENCH_SERVE_ROUNDS", 1)
    tokens = env_int("BENCH_SERVE_TOKENS", 32)
    result = benchmark.pedantic(
        measure_throughput, args=(embedded, folder, levels, rounds, tokens, certified), rounds=1, iterations=1
    )
    result["model"] = embedded.name
    write_fragment("serve-throughput-embedded", result)
    _write_markdown()


def _write_markdown() -> None:
    """``serve.md``: the throughput table and the per-row cost, from whatever fragments exist."""
    import json

    folder = out_dir()
    lines = ["# steer serve benchmarks", ""]
    tp = folder / "serve-throughput-embedded.json"
    if tp.exists():
        data = json.loads(tp.read_text())
        lines += [
            f"Throughput, {data['model']}, {data['max_tokens']} max new tokens, mixed vectors"
            f"{'' if data.get('certified', True) else ' (extracted, not certified)'} (load "
            f"{data['environment'].get('loadavg')}):",
            "",
            "| concurrency | tokens | server tok/s | one-by-one tok/s | speedup | same tokens |",
            "|---|---|---|---|---|---|",
        ]
        for c, row in data["levels"].items():
            lines.append(
                f"| {c} | {row['completion_tokens']} | {row['server_tokens_per_s']:.2f} | "
                f"{row['one_by_one_tokens_per_s']:.2f} | {row['speedup']:.2f}x | "
                f"{'yes' if row['same_tokens'] else str(row['rows_differing']) + ' rows differ'} |"
            )
        at8 = data["levels"].get("8")
        if at8:
            lines += ["", f"Target >= 2x at concurrency 8: {'met' if at8['speedup'] >= 2 else 'NOT met'}."]
        lines.append("")
    for name in ("serve-rows-embedded", "serve-rows-tiny"):
        path = folder / f"{name}.json"
        if path.exists():
            data = json.loads(path.read_text())
            r = data["ratios"]
            lines.append(
                f"Per-row steering, {data['model']}, batch 8 x {data['tokens']} tokens, {data['rounds']} rounds: "
                f"per-row {100 * (r['per_row']['median'] - 1):+.2f}% (IQR {100 * (r['per_row']['q1'] - 1):+.2f}.."
                f"{100 * (r['per_row']['q3'] - 1):+.2f}%), one plan {100 * (r['one_plan']['median'] - 1):+.2f}% "
                "over unsteered."
            )
    step = folder / "serve-step-embedded.json"
    if step.exists():
        data = json.loads(step.read_text())
        r = data["ratios"]
        lines.append(
            f"One decode step, {data['model']}, batch 8, {data['rounds']} rounds: per-row "
            f"{100 * (r['per_row']['median'] - 1):+.2f}% (IQR {100 * (r['per_row']['q1'] - 1):+.2f}.."
            f"{100 * (r['per_row']['q3'] - 1):+.2f}%), one plan {100 * (r['one_plan']['median'] - 1):+.2f}% "
            "over unsteered."
        )
    lines.append("")
    target = folder / "serve.md"
    tmp = target.with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    tmp.replace(target)


# ----------------------------------------------------------------------------- 6c one decode step
def measure_decode_step(embedded: Any, vectors: list[Any], layers: list[int], rounds: int) -> dict[str, Any]:
    """One decode step of a left-padded batch of 8 (KV cache of the prompts), repeated from the same cache.

    Unsteered, per-row plans (seven rows, one plain) and one plan for all rows, interleaved; the
    cache is cropped back after each step so every call does the same work.
    """
    from transformers import DynamicCache

    from steering_core.prompts import encode
    from steering_core.steer import steer, steer_rows

    model = embedded.model
    plans = _plans(vectors, layers, 8, (0.5, -0.25))
    plans[7] = None
    batch = encode(embedded.tokenizer, PROMPTS[:8])
    with torch.inference_mode():
        cache = DynamicCache()
        out = model(
            input_ids=batch.input_ids, attention_mask=batch.attention_mask, past_key_values=cache, use_cache=True
        )
        width = batch.input_ids.shape[1]
        nxt = out.logits[:, -1].argmax(-1, keepdim=True)
        mask = torch.cat([batch.attention_mask, torch.ones(8, 1, dtype=torch.long)], 1)
        pos = batch.attention_mask.sum(1, keepdim=True)

        def step() -> None:
            model(
                input_ids=nxt,
                attention_mask=mask,
                position_ids=pos,
                past_key_values=cache,
                cache_position=torch.tensor([width]),
                use_cache=True,
            )
            cache.crop(-1)

        def per_row() -> None:
            with steer_rows(model, plans):
                step()

        def one_plan() -> None:
            with steer(model, vectors[0], 0.5, layers=layers[0]):
                step()

        result = interleaved({"unsteered": step, "per_row": per_row, "one_plan": one_plan}, rounds, "unsteered")
    result.update({"batch": 8, "plain_rows": 1})
    return result


def test_per_row_decode_step_embedded(benchmark: Any, embedded: Any) -> None:
    from steering_core.extract import extract

    vectors = [extract(embedded, style=s, layers=[layer]) for s, layer in STYLES]
    layers = [layer for _, layer in STYLES]
    rounds = env_int("BENCH_SERVE_STEP_ROUNDS", 25)
    result = benchmark.pedantic(measure_decode_step, args=(embedded, vectors, layers, rounds), rounds=1, iterations=1)
    result["model"] = embedded.name
    write_fragment("serve-step-embedded", result)
    _print_rows(f"{embedded.name} decode step", result)
    _write_markdown()
