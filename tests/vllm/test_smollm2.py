"""vLLM steering on SmolLM2-135M-Instruct against the reference core (fp32, greedy).

One engine for the module, with chunked prefill forced (32 tokens per step, prompts are ~35
tokens) and the prefix cache on.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from steering_core.models import LoadedModel
from tests.vllm.conftest import LAYERS, PROMPTS, mixed_batch_agreement, random_vector, record, reference, residual_norm

pytestmark = [pytest.mark.vllm, pytest.mark.slow]


@pytest.mark.ci
def test_probe_proved_the_hooks_steer_expected_rows(smol_engine: Any) -> None:
    report = smol_engine.probe_report
    assert smol_engine.steering_enabled
    assert report["problems"] == []
    prompt = report["prompt_tokens"]
    assert prompt > 32  # longer than the token budget of one step: the probe crossed a chunk boundary
    assert report["expected_rows"] == {"all": prompt + 2, "prompt": prompt, "generated": 2}


@pytest.mark.ci
def test_mixed_batch_equals_reference(smol: LoadedModel, smol_engine: Any) -> None:
    result = mixed_batch_agreement(smol, smol_engine, "smollm2", max_tokens=12)
    record("agreement-smollm2", result)
    changed = [r for r in result["rows"] if r["steered"] and r["steering_changed_output"]]
    assert changed, "vacuous: steering changed nothing"
    bad = [(r["prompt"], r["terms"]) for r in result["rows"] if not r["equal"]]
    assert not bad, f"rows differing from the reference core: {bad}\n{result['got']}\n{result['reference']}"
    assert smol_engine.stats()["anomalies"] == []


def test_plain_rows_equal_plain_vllm(smol: LoadedModel, smol_engine: Any) -> None:
    """Plain rows of a mixed batch give exactly what an all-plain vLLM batch gives."""
    from steering_core.vllm.config import SteerTerm

    layer = LAYERS["smollm2"]
    smol_engine.register("v", random_vector(smol, layer, 0.6 * residual_norm(smol, layer), seed=1))
    prompts = list(PROMPTS[:4])
    steered = [SteerTerm("v", 1.0, layer)]
    all_plain = smol_engine.generate(prompts, [None] * 4, 12)
    mixed = smol_engine.generate(prompts, [None, steered, None, steered], 12)
    alone = [smol_engine.generate([p], [None], 12)[0] for p in prompts]
    assert mixed[0] == all_plain[0] == alone[0]
    assert mixed[2] == all_plain[2] == alone[2]
    assert mixed[1] != all_plain[1] or mixed[3] != all_plain[3], "vacuous: steering changed nothing"
    hf_plain = [reference(smol, p, None, 12) for p in prompts]
    record(
        "plain-rows-smollm2",
        {
            "plain_rows_equal_plain_vllm": True,
            "plain_vllm_equals_hf_plain": [a == b for a, b in zip(all_plain, hf_plain, strict=True)],
        },
    )


def _run(engine: Any, prompt: str, terms: list[Any], max_tokens: int, salt: str | None = None) -> Any:
    resolved = engine.resolve(terms)
    return engine.run([engine.request(engine.encode(prompt), resolved, max_tokens, salt=salt)])[0]


def test_prefix_cache_never_leaks_steering(smol: LoadedModel, smol_engine: Any) -> None:
    """plain -> steered -> plain, steered -> plain, one prompt at alphas a, b, a: each equals its reference.

    The cache is active (repeated configurations hit it: checked, so the test is not vacuous), and
    a steered request never reuses a plain request's blocks nor the other way round.
    """
    from steering_core.vllm.config import SteerTerm

    layer = LAYERS["smollm2"]
    v = random_vector(smol, layer, 0.6 * residual_norm(smol, layer), seed=3)
    smol_engine.register("pc", v)
    n = 10
    # vLLM caches whole blocks only (128 tokens by default on CPU): the prompts are longer than a
    # block, and start with a stamp no earlier request carried (the cache lives as long as the engine).
    stamp = str(time.time_ns())
    lines = " ".join(f"Line {i}: the harbour master logs ship {i} at berth {i % 7}." for i in range(12))
    # One context per sequence: sequences must not share a cached prefix with each other.
    p1 = f"Request {stamp}-1. {lines} Describe the harbour at dawn."
    p2 = f"Request {stamp}-2. {lines} List two uses of copper."
    p3 = f"Request {stamp}-3. {lines} Why is the sky blue?"
    assert len(smol_engine.encode(p1)) > 160
    on = [SteerTerm("pc", 1.0, layer)]
    results: dict[str, Any] = {}

    # 1. plain -> steered -> plain
    a1 = _run(smol_engine, p1, [], n)
    b1 = _run(smol_engine, p1, on, n)
    c1 = _run(smol_engine, p1, [], n)
    ref_plain1, ref_on1 = reference(smol, p1, None, n), reference(smol, p1, [(v, 1.0, layer, "all")], n)
    assert ref_plain1 != ref_on1, "vacuous: steering does not change this prompt"
    assert a1.tokens == c1.tokens == ref_plain1
    assert b1.tokens == ref_on1
    assert b1.cached_tokens == 0, "the steered request reused the plain request's cached prompt"
    assert c1.cached_tokens > 0, "the prefix cache was not active: this sequence proves nothing"
    results["plain_steered_plain"] = [a1.cached_tokens, b1.cached_tokens, c1.cached_tokens]

    # 2. steered -> plain
    b2 = _run(smol_engine, p2, on, n)
    a2 = _run(smol_engine, p2, [], n)
    assert b2.tokens == reference(smol, p2, [(v, 1.0, layer, "all")], n)
    assert a2.tokens == reference(smol, p2, None, n)
    assert a2.cached_tokens == 0, "the plain request reused steered KV"
    results["steered_plain"] = [b2.cached_tokens, a2.cached_tokens]

    # 3. one prompt, alphas a, b, then a again (same configuration may share, others may not)
    x = _run(smol_engine, p3, [SteerTerm("pc", 1.0, layer)], n)
    y = _run(smol_engine, p3, [SteerTerm("pc", 0.5, layer)], n)
    z = _run(smol_engine, p3, [SteerTerm("pc", 1.0, layer)], n)
    assert x.tokens == z.tokens == reference(smol, p3, [(v, 1.0, layer, "all")], n)
    assert y.tokens == reference(smol, p3, [(v, 0.5, layer, "all")], n)
    assert y.cached_tokens == 0 and z.cached_tokens > 0
    results["alpha_a_b_a"] = [x.cached_tokens, y.cached_tokens, z.cached_tokens]

    # Control: the same steered request with the salt removed does reuse the plain prompt's blocks,
    # which is the hazard the salt prevents (recorded, with whether its tokens still matched).
    leak = _run(smol_engine, p1, on, n, salt="")
    results["control_unsalted_steered_after_plain"] = {
        "cached_tokens": leak.cached_tokens,
        "equals_reference": leak.tokens == ref_on1,
    }
    assert leak.cached_tokens > 0
    record("prefix-cache-smollm2", results)


def test_cancelled_request_frees_its_slot(smol_engine: Any) -> None:
    """A request cancelled mid-generation (a client that disconnected) is aborted in vLLM."""
    from steering_core.vllm.config import SteerTerm
    from steering_core.vllm.loop import EngineLoop

    loop = EngineLoop(smol_engine, max_pending=4)
    try:
        layer = LAYERS["smollm2"]
        terms = smol_engine.resolve([SteerTerm("v", 1.0, layer)]) if "v" in smol_engine.registry else ()
        seen: list[int] = []
        ended = threading.Event()

        def on_event(kind: str, value: Any) -> None:
            if kind == "token":
                seen.append(value)
            else:
                ended.set()

        handle = loop.submit(smol_engine.encode("Count from one to two hundred."), terms, 200, on_event)
        assert handle is not None
        deadline = time.monotonic() + 300
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        handle.cancel()
        assert ended.wait(120)
        assert handle.finish_reason == "cancelled"
        assert len(handle.tokens) < 200
        assert loop.call(smol_engine.unfinished) == 0  # vLLM holds nothing for it any more
        stats = loop.stats()
        assert stats["running"] == 0 and stats["admitted"] == 0 and stats["aborted"] == 1
        again = loop.submit(smol_engine.encode("Say yes."), (), 3)  # the freed slot serves the next request
        assert again is not None and len(again.wait(300)) <= 3
    finally:
        loop.close()


def test_certified_vectors_are_verified_before_registration(
    smol: LoadedModel, smol_engine: Any, certified_smol: Any
) -> None:
    from steering_core.certify import load_certified
    from steering_core.certify.errors import CertificateError
    from steering_core.vllm.config import SteerTerm

    name = f"terse-L{LAYERS['smollm2']}"
    ref = smol_engine.register_certified("terse", certified_smol / f"{name}.safetensors")
    assert ref.layers == (LAYERS["smollm2"],)
    with pytest.raises(CertificateError):
        smol_engine.register_certified("tampered", certified_smol / "tampered.safetensors")
    assert "tampered" not in smol_engine.registry
    vector = load_certified(certified_smol / f"{name}.safetensors", model=smol)
    alpha = float(vector.metadata["safe_alpha_max"])
    prompt = PROMPTS[0]
    got = smol_engine.generate([prompt], [[SteerTerm("terse", alpha)]], 10)[0]
    assert got == reference(smol, prompt, [(vector, alpha, LAYERS["smollm2"], "all")], 10)
