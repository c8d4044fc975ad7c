"""The continuous-batching engine on a tiny random model, without HTTP: joins, leaves, faults, limits.

References are ``generate_tokens`` run alone under ``steer_rows`` with the request's one plan (and,
for single-term plans, also under ``steer()``), on the same model object: steering is isolated per
thread, so the engine thread and the test thread do not see each other's steering.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import torch

from steering_core.errors import UnsupportedModelError
from steering_core.generate import generate_tokens
from steering_core.models import LoadedModel
from steering_core.plan import Term, compile_plan
from steering_core.prompts import chat_text
from steering_core.serve.engine import Engine, Job, check_servable
from steering_core.steer import hook_snapshot, steer_rows
from tests.conftest import make_tiny_model, make_tokenizer


@pytest.fixture(scope="module")
def world() -> tuple[Any, Any]:
    torch.set_num_threads(1)
    return make_tiny_model("qwen3"), make_tokenizer()


def _v(seed: int) -> torch.Tensor:
    return torch.randn(64, generator=torch.Generator().manual_seed(seed)) * 0.5


PLANS: list[list[Term] | None] = [
    None,
    [Term(vector=_v(0), alpha=3.0, layers=1)],
    [Term(vector=_v(1), alpha=-2.0, layers=(1, 2), positions="generated")],
    None,
    [Term(vector=_v(2), alpha=2.0, layers=2), Term(vector=_v(0), alpha=1.0, layers=1, positions="prompt")],
    [Term(vector=_v(3), alpha=4.0, layers=3)],
    [Term(vector=_v(0), alpha=3.0, layers=1)],
    None,
    [Term(vector=_v(1), alpha=1.5, layers=0, positions="prompt")],
]
PROMPTS = [
    "hello there",
    "a much longer prompt, with words",
    "x",
    "what is a mutex?",
    "abc def",
    "zz",
    "q",
    "Tell me",
    "ok",
]


class Collector:
    def __init__(self) -> None:
        self.done = threading.Semaphore(0)
        self.events: list[tuple[str, Any]] = []

    def __call__(self, kind: str, value: Any) -> None:
        self.events.append((kind, value))
        if kind != "token":
            self.done.release()


def _job(model: Any, tokenizer: Any, prompt: str, plan: Any, n: int, sink: Collector) -> Job:
    ids = list(tokenizer(chat_text(tokenizer, prompt), add_special_tokens=False)["input_ids"])
    return Job(ids, None if plan is None else compile_plan(model, plan), n, sink)


def _fault_once(model: Any, layer: int) -> tuple[threading.Event, Any]:
    """A hook on decoder layer ``layer`` that raises once, in the engine thread only."""
    from steering_core.layers import decoder_layers

    fired = threading.Event()

    def fault(_m: Any, _a: Any, _o: Any) -> None:
        if threading.current_thread().name == "steer-serve-engine" and not fired.is_set():
            fired.set()
            raise FloatingPointError("injected fault")

    return fired, decoder_layers(model)[layer].register_forward_hook(fault)


def test_staggered_joins_and_leaves_equal_each_request_alone(world: tuple[Any, Any]) -> None:
    model, tokenizer = world
    engine = Engine(model, tokenizer, max_batch=4)  # fewer slots than jobs: some wait, then join
    try:
        sinks = [Collector() for _ in PROMPTS]
        jobs = [
            _job(model, tokenizer, p, plan, 10 + 3 * i, sink)
            for i, (p, plan, sink) in enumerate(zip(PROMPTS, PLANS, sinks, strict=True))
        ]
        for i, job in enumerate(jobs):
            assert engine.submit(job)
            time.sleep(0.003 * (i % 3))
        for sink in sinks:
            assert sink.done.acquire(timeout=60)
        stats = engine.stats()
        assert stats["max_rows_seen"] == 4 and stats["engine_errors"] == 0
    finally:
        engine.close()
    for job, prompt, plan, sink in zip(jobs, PROMPTS, PLANS, sinks, strict=True):
        with steer_rows(model, [plan]):
            want = generate_tokens(
                LoadedModel(model=model, tokenizer=tokenizer), [prompt], max_new_tokens=job.max_new_tokens
            )[0]
        assert job.tokens == want, prompt
        assert [v for k, v in sink.events if k == "token"] == want
        assert sink.events[-1] == ("done", "length" if len(want) == job.max_new_tokens else "stop")
    assert hook_snapshot(model) == {}


def test_a_failing_step_ends_only_its_jobs_and_the_engine_keeps_serving(world: tuple[Any, Any]) -> None:
    model, tokenizer = world
    _fired, handle = _fault_once(model, 2)
    engine = Engine(model, tokenizer, max_batch=4)
    try:
        bad = Collector()
        assert engine.submit(_job(model, tokenizer, "first", PLANS[1], 8, bad))
        assert bad.done.acquire(timeout=60)
        assert bad.events[-1][0] == "error" and "FloatingPointError" in bad.events[-1][1]
        good = Collector()
        job = _job(model, tokenizer, "second", PLANS[1], 8, good)
        assert engine.submit(job)
        assert good.done.acquire(timeout=60)
        assert good.events[-1][0] == "done" and len(job.tokens) >= 1
        assert engine.stats()["engine_errors"] == 1 and engine.stats()["admitted"] == 0
    finally:
        engine.close()
        handle.remove()


def test_jobs_admitted_together_are_prefilled_in_one_pass_and_equal_each_alone(world: tuple[Any, Any]) -> None:
    model, tokenizer = world
    engine = Engine(model, tokenizer, max_batch=8)
    try:
        sinks = [Collector() for _ in range(6)]
        jobs = [_job(model, tokenizer, PROMPTS[i], PLANS[i], 9, sink) for i, sink in enumerate(sinks)]
        with engine._cv:  # the engine thread wakes only after all six are queued
            for job in jobs:
                assert engine.submit(job)
        for sink in sinks:
            assert sink.done.acquire(timeout=60)
        stats = engine.stats()
        assert stats["prefills"] == 6 and stats["prefill_passes"] == 1 and stats["engine_errors"] == 0
    finally:
        engine.close()
    for job, prompt, plan in zip(jobs, PROMPTS, PLANS, strict=False):
        with steer_rows(model, [plan]):
            want = generate_tokens(LoadedModel(model=model, tokenizer=tokenizer), [prompt], max_new_tokens=9)[0]
        assert job.tokens == want, prompt
    assert hook_snapshot(model) == {}


def test_a_failing_group_prefill_retries_each_job_alone(world: tuple[Any, Any]) -> None:
    model, tokenizer = world
    fired, handle = _fault_once(model, 1)
    engine = Engine(model, tokenizer, max_batch=4)
    try:
        sinks = [Collector() for _ in range(3)]
        jobs = [_job(model, tokenizer, PROMPTS[i], PLANS[i], 6, sink) for i, sink in enumerate(sinks)]
        with engine._cv:
            for job in jobs:
                assert engine.submit(job)
        for sink in sinks:
            assert sink.done.acquire(timeout=60)
            assert sink.events[-1][0] == "done"
        assert fired.is_set() and engine.stats()["engine_errors"] == 0
        assert engine.stats()["prefill_passes"] == 3  # the failed group pass is not counted; 3 single passes
    finally:
        engine.close()
        handle.remove()
    for job, prompt, plan in zip(jobs, PROMPTS, PLANS, strict=False):
        with steer_rows(model, [plan]):
            want = generate_tokens(LoadedModel(model=model, tokenizer=tokenizer), [prompt], max_new_tokens=6)[0]
        assert job.tokens == want, prompt


def test_cancel_frees_the_slot_and_the_limit_refuses_extra_jobs(world: tuple[Any, Any]) -> None:
    model, tokenizer = world
    engine = Engine(model, tokenizer, max_batch=1, max_pending=2)
    try:
        long_sink, waiting_sink = Collector(), Collector()
        long_job = _job(model, tokenizer, "long", None, 200, long_sink)
        waiting = _job(model, tokenizer, "waits", None, 5, waiting_sink)
        assert engine.submit(long_job) and engine.submit(waiting)
        assert not engine.submit(_job(model, tokenizer, "third", None, 5, Collector()))  # full
        while not long_job.tokens:
            time.sleep(0.001)
        long_job.cancel()
        assert long_sink.done.acquire(timeout=60) and long_sink.events[-1] == ("done", "cancelled")
        assert len(long_job.tokens) < 200
        assert waiting_sink.done.acquire(timeout=60) and waiting_sink.events[-1][0] == "done"
        deadline = time.monotonic() + 10
        while engine.stats()["kv_cache_bytes"] and time.monotonic() < deadline:
            time.sleep(0.01)
        assert engine.stats()["admitted"] == 0 and engine.stats()["kv_cache_bytes"] == 0
    finally:
        engine.close()


def test_models_the_engine_cannot_batch_exactly_are_refused() -> None:
    with pytest.raises(UnsupportedModelError, match="full-attention"):
        check_servable(make_tiny_model("gemma3"))
    model = make_tiny_model("qwen2")
    model.generation_config.repetition_penalty = 1.1
    with pytest.raises(UnsupportedModelError, match="repetition_penalty"):
        check_servable(model)
