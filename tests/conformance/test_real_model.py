"""The conformance kit on the embedded model (Qwen2.5-Coder-0.5B-Instruct): a representative subset.

CI runs it (marked ``ci``): the hook backend on the properties where real-model bugs live
(zero alpha, dose, positions=generated with the first generated token, batch isolation), and the
folded backend on dose. ``steer conform --backend hf-hook`` runs every property.
"""

from __future__ import annotations

import pytest

from steering_core.conformance.adapters import FoldedBackend, HookBackend
from steering_core.conformance.fixture import build_fixture
from steering_core.conformance.oracle import Oracle
from steering_core.conformance.run import run_conformance

pytestmark = [pytest.mark.slow, pytest.mark.ci]

SUBSET = ["CF-zero-alpha", "CF-dose", "CF-positions-generated", "CF-batch-isolation"]


def test_hook_and_folded_conform_on_the_embedded_model() -> None:
    from steering_core.models import load_model

    lm = load_model()
    fixture, vectors = build_fixture(lm, layer=12, n_prompts=2, max_new_tokens=8)
    oracle = Oracle(lm.model, lm.tokenizer, vectors)
    hook = run_conformance(HookBackend(lm), lm.model, lm.tokenizer, vectors, fixture, lm.name, SUBSET, oracle=oracle)
    assert hook.passed, hook.table()
    assert all(r.status == "pass" for r in hook.results), hook.table()
    folded = run_conformance(
        FoldedBackend(lm), lm.model, lm.tokenizer, vectors, fixture, lm.name, ["CF-dose"], oracle=oracle
    )
    assert folded.passed, folded.table()
