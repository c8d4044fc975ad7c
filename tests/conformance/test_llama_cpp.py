"""The conformance kit on llama.cpp (llama-cpp-python, built from its sdist): ``make interop``.

The tiny models are converted to F32 GGUF by llama.cpp's own ``convert_hf_to_gguf.py`` and
steered with control-vector GGUFs that our exporter writes (``direction.L`` is layer ``L``);
llama.cpp is compared token for token with the Hugging Face fp32 reference. A property the
backend cannot serve (mixed plans in one batch, the KV cache off, concurrent calls) must show as
"unsupported", never as passed; the off-by-one numbering mutant must fail CF-layer-numbering.

Needs ``llama_cpp`` in ``$LLAMA_CPP_PYTHON`` (default ``<cache>/llama-venv/bin/python``,
``scripts/build_llama_cpp.sh``) and llama.cpp's converter (``scripts/fetch_llama_convert.sh``);
skipped when either is missing unless ``STEERING_INTEROP_REQUIRED=1`` (set by ``make interop``),
then it fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from steering_core.conformance.llama_cpp_adapter import LlamaCppBackend, llama_available
from steering_core.conformance.plan import Request, Term
from steering_core.errors import InvalidParameterError
from steering_core.vector import SteeringVector
from tests.conformance.conftest import Kit, make_kit, run

pytestmark = [pytest.mark.slow, pytest.mark.interop]

UNSUPPORTED = {"CF-cache", "CF-batch-isolation", "CF-request-isolation"}


@pytest.fixture(scope="module", autouse=True)
def _llama_here() -> None:
    why = llama_available()
    if why is not None:
        if os.environ.get("STEERING_INTEROP_REQUIRED") == "1":
            pytest.fail(why)
        pytest.skip(why)


class OffByOneNumbering(LlamaCppBackend):
    """Exports our layer L as ``direction.<L+1>``: a tool that believes llama.cpp's
    ``direction.N`` is the output of layer N-1 (llama.cpp has no ``direction.0``)."""

    def export_term(self, vector: SteeringVector, layers: tuple[int, ...], path: Path) -> None:
        from steering_core.certify.gguf_interop import write_control_vector

        directions = {layer + 1: vector[layer].to(torch.float32).contiguous() for layer in layers}
        write_control_vector(path, directions, "mutant")


@pytest.mark.parametrize("arch", ["qwen2", "llama", "qwen3"])
def test_llama_cpp_conforms_on_tiny_models(arch: str) -> None:
    kit = make_kit(arch)
    report = run(LlamaCppBackend(kit[0]), kit)
    print("\n" + report.table())
    statuses = {r.id: r.status for r in report.results}
    assert {p for p, s in statuses.items() if s == "unsupported"} == UNSUPPORTED, report.table()
    assert all(s == "pass" for p, s in statuses.items() if p not in UNSUPPORTED), report.table()
    assert report.passed


@pytest.fixture(scope="module")
def qwen2_kit() -> Kit:
    return make_kit("qwen2")


def test_off_by_one_numbering_is_caught(qwen2_kit: Kit) -> None:
    result = run(OffByOneNumbering(qwen2_kit[0]), qwen2_kit, only=["CF-layer-numbering"]).results[0]
    assert result.status == "fail", f"the off-by-one export slipped through: {result.figure}"
    control = run(LlamaCppBackend(qwen2_kit[0]), qwen2_kit, only=["CF-layer-numbering"]).results[0]
    assert control.status == "pass", control.details


def test_what_llama_cpp_cannot_do_is_refused(qwen2_kit: Kit) -> None:
    lm, fixture, vectors, _ = qwen2_kit
    backend = LlamaCppBackend(lm)
    try:
        for name, vector in vectors.items():
            backend.add_vector(name, vector)
        prompt = fixture.prompts[0]
        steered = Request(prompt=prompt, terms=(Term(vector="v", alpha=fixture.alphas[1], layers=(fixture.layer,)),))
        with pytest.raises(InvalidParameterError, match="one plan for every row"):
            backend.generate([steered, Request(prompt=prompt)], 4)
        with pytest.raises(InvalidParameterError, match="use_cache"):
            backend.generate([steered], 4, use_cache=False)
        with pytest.raises(InvalidParameterError, match=r"direction\.0"):
            backend.generate([Request(prompt=prompt, terms=(Term(vector="v", alpha=1.0, layers=(0,)),))], 4)
        with pytest.raises(InvalidParameterError, match=r"direction\.0"):
            backend.generate([Request(prompt=prompt, terms=(Term(vector="v", alpha=1.0, layers=(lm.num_layers,)),))], 4)
        # nothing was left behind by the refusals: plain equals plain
        before = backend.state_digest()
        assert backend.generate([Request(prompt=prompt)], 4) == backend.generate([Request(prompt=prompt)], 4)
        assert backend.state_digest() == before
    finally:
        backend.close()
