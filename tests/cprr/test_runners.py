"""Every runner executes its (tiny-scaled) protocol on a tiny model, deterministically, and appends evidence."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from steering_core.cprr import store
from steering_core.cprr.engine import run_entry, runnable_ids
from steering_core.cprr.errors import MeasurementError, NoRunnerError, ProtocolDataError
from steering_core.cprr.runners import RUNNERS, load_runners, runner
from steering_core.cprr.validate import check_entry
from tests.cprr.conftest import TINY

FAST = [
    "C-5", "C-7", "C-10", "C-11", "C-12", "C-13",
    "H-LR-2", "H-RN-1", "H-GEO-1", "H-GEO-2", "H-GEO-3", "H-GEO-4", "H-EX-1", "H-PR-1", "H-SV-1",
]  # fmt: skip
GENERATING = [
    "C-1", "C-2", "C-3", "C-4", "C-6", "C-8", "C-9", "C-14",
    "H-LR-1", "H-LR-3", "H-LR-4", "H-LR-5", "H-ML-1", "H-ST-1", "H-IP-1",
]  # fmt: skip


def test_runner_registry() -> None:
    runners = load_runners()
    assert set(FAST + GENERATING) <= set(runners)
    assert {i for i in FAST if runners[i].fast} == set(FAST)
    assert not any(runners[i].fast for i in GENERATING)
    assert set(TINY) >= set(FAST + GENERATING)


def test_decorator_refuses_a_second_function_for_an_id() -> None:
    load_runners()

    def impostor(ctx: Any, protocol: dict[str, Any]) -> dict[str, Any]:
        return {"x": 1.0}

    with pytest.raises(ValueError, match="already registered"):
        runner("H-SV-1", fast=True)(impostor)


@pytest.mark.parametrize("entry_id", FAST + GENERATING)
def test_runner_on_tiny_model(entry_id: str, tiny_registry: Callable[..., Path], tiny_context: Any) -> None:
    folder = tiny_registry([entry_id])
    first = run_entry(entry_id, folder, tiny_context)
    assert first.appended and first.conforms and first.status_before == "open"
    assert first.status_after in ("testing", "refuted")
    entry = store.load_entry(entry_id, folder)
    assert check_entry(entry) == []
    record = entry["evidence"][0]
    assert record["model"]["name"] == "tiny-qwen2" and record["model"]["num_layers"] == 4
    assert record["runner"]["fast"] is (entry_id in FAST)
    assert record["data"]["n_prompts"] == entry["protocol"]["prompt_set"]["n_prompts"]


@pytest.mark.parametrize("entry_id", ["H-SV-1", "C-5", "C-6", "C-10"])
def test_runs_reproduce_and_move_the_status(
    entry_id: str, tiny_registry: Callable[..., Path], tiny_context: Any
) -> None:
    folder = tiny_registry([entry_id])
    first = run_entry(entry_id, folder, tiny_context)
    second = run_entry(entry_id, folder, tiny_context)
    assert second.reproduces is True
    assert second.record["measured"] == first.record["measured"]
    assert second.record["data"]["inputs_sha256"] == first.record["data"]["inputs_sha256"]
    entry = store.load_entry(entry_id, folder)
    expected = "confirmed" if first.record["verdict"] == "pass" else "refuted"
    assert entry["status"] == expected and len(entry["evidence"]) == 2
    assert check_entry(entry) == []


def test_dry_run_writes_nothing(tiny_registry: Callable[..., Path], tiny_context: Any) -> None:
    folder = tiny_registry(["H-SV-1"])
    before = (folder / "H-SV-1.json").read_bytes()
    outcome = run_entry("H-SV-1", folder, tiny_context, dry_run=True)
    assert not outcome.appended and "dry run" in outcome.summary()
    assert (folder / "H-SV-1.json").read_bytes() == before


def test_other_model_does_not_conform(tiny_registry: Callable[..., Path], tiny_context: Any) -> None:
    folder = tiny_registry(["H-SV-1"], model_name="some-other-model")
    outcome = run_entry("H-SV-1", folder, tiny_context)
    assert outcome.appended and not outcome.conforms
    entry = store.load_entry("H-SV-1", folder)
    assert entry["status"] == "open" and len(entry["evidence"]) == 1
    assert check_entry(entry) == []


def test_protocol_data_is_checked(tiny_registry: Callable[..., Path], tiny_context: Any, tmp_path: Path) -> None:
    from steering_core.cprr.digests import protocol_digest
    from steering_core.cprr.lifecycle import new_entry

    folder = tiny_registry(["C-5"])
    entry = store.load_entry("C-5", folder)
    bad = copy.deepcopy(entry["protocol"])
    bad["prompt_set"]["n_prompts"] = 10_000
    store.write_entry(new_entry("C-5", "conjecture", entry["group"], entry["title"], entry["statement"],
                                entry["origin"], bad), tmp_path / "bad")  # fmt: skip
    with pytest.raises(ProtocolDataError, match="need 10000"):
        run_entry("C-5", tmp_path / "bad", tiny_context)
    deep = copy.deepcopy(entry["protocol"])
    deep["layers"] = [0, 1, 2, 3, 4]
    assert protocol_digest(deep) != entry["protocol_sha256"]
    store.write_entry(new_entry("C-5", "conjecture", entry["group"], entry["title"], entry["statement"],
                                entry["origin"], deep), tmp_path / "deep")  # fmt: skip
    with pytest.raises(ProtocolDataError, match=r"layers \[4\] do not exist in a 4-layer model"):
        run_entry("C-5", tmp_path / "deep", tiny_context)


def test_missing_rule_metric_and_missing_runner(
    tiny_registry: Callable[..., Path], tiny_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tiny_registry(["H-SV-1", "C-9"])
    load_runners()
    monkeypatch.delitem(RUNNERS, "C-9")  # as if runners_behaviour did not exist
    with pytest.raises(NoRunnerError, match="no runner registered for 'C-9'"):
        run_entry("C-9", folder, tiny_context)
    assert "C-9" not in runnable_ids(False, folder) or "C-9" in RUNNERS
    original = RUNNERS["H-SV-1"]
    monkeypatch.setitem(RUNNERS, "H-SV-1", type(original)("H-SV-1", lambda ctx, p: {"other": 1.0}, True))
    with pytest.raises(MeasurementError, match="'mean_abs_cos' was not measured"):
        run_entry("H-SV-1", folder, tiny_context)
    assert store.load_entry("H-SV-1", folder)["evidence"] == []
