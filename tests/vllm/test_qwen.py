"""vLLM steering on the embedded Qwen2.5-Coder-0.5B-Instruct against the reference core (fp32, greedy)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from steering_core.models import LoadedModel
from tests.vllm.conftest import mixed_batch_agreement, need_vllm, record, start_engine

pytestmark = [pytest.mark.vllm, pytest.mark.slow]


@pytest.fixture(scope="module")
def qwen() -> LoadedModel:
    need_vllm()
    from steering_core.models import load_model

    return load_model("embedded")


@pytest.fixture(scope="module")
def qwen_engine(qwen: LoadedModel) -> Iterator[Any]:
    engine = start_engine(qwen)
    try:
        yield engine
    finally:
        engine.close()


def test_mixed_batch_equals_reference(qwen: LoadedModel, qwen_engine: Any) -> None:
    assert qwen_engine.probe_report["problems"] == []
    result = mixed_batch_agreement(qwen, qwen_engine, "embedded", max_tokens=12)
    record("agreement-qwen2.5", result)
    changed = [r for r in result["rows"] if r["steered"] and r["steering_changed_output"]]
    assert changed, "vacuous: steering changed nothing"
    bad = [(r["prompt"], r["terms"]) for r in result["rows"] if not r["equal"]]
    assert not bad, f"rows differing from the reference core: {bad}\n{result['got']}\n{result['reference']}"


def test_vector_certified_for_another_model_is_refused(qwen_engine: Any, certified_smol: Path) -> None:
    from steering_core.certify.errors import CertificateError

    with pytest.raises(CertificateError):
        qwen_engine.register_certified("smol-terse", next(certified_smol.glob("terse-*.safetensors")))
    assert "smol-terse" not in qwen_engine.registry
