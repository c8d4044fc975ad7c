"""The committed registry (steering_core/data/cprr): valid, consistent, ported completely, with honest statuses."""

from __future__ import annotations

import json

import jsonschema

from steering_core.cprr import board_rows, store
from steering_core.cprr.board import BOARD_KEYS
from steering_core.cprr.lifecycle import conforming
from steering_core.cprr.registry_check import check_registry
from steering_core.cprr.runners import load_runners
from steering_core.cprr.schema import SCHEMA_PATH, schema_problems

SEED_IDS = {f"C-{n}" for n in range(1, 15)}
LEAD_RUNNERS = {"C-14", "H-IP-1"}  # runners written in steering_core/cprr/runners_behaviour.py
RENAMED = (
    {f"H-LR-{n}" for n in range(1, 6)} | {f"H-GEO-{n}" for n in range(1, 5)} | {"H-RN-1", "H-ML-1", "H-ST-1", "H-IP-1"}
)


def test_schema_is_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def test_every_committed_entry_matches_the_schema() -> None:
    paths = store.entry_paths()
    assert paths
    for path in paths:
        entry = store.read_entry_file(path)
        assert schema_problems(entry) == [], path.name
        assert entry["id"] == path.stem


def test_the_committed_registry_is_consistent() -> None:
    """Verdicts and statuses recomputed from the evidence; append-only against the last commit."""
    assert check_registry(against="HEAD") == []


def test_seed_conjectures_and_project_findings_are_ported() -> None:
    ids = {p.stem for p in store.entry_paths()}
    assert SEED_IDS | RENAMED | {"H-EX-1", "H-SV-1"} <= ids
    for entry_id in SEED_IDS:
        entry = store.load_entry(entry_id)
        assert entry["origin"]["source"] == "seed" and "round(l * 23 / 27)" in entry["protocol"]["layer_mapping"]
        assert all(0 <= layer < 24 for layer in entry["protocol"]["layers"])
    assert "1.290" in store.load_entry("C-4")["origin"]["notes"]


def test_statuses_are_backed_by_committed_evidence() -> None:
    runners = load_runners()
    for entry in store.load_entries():
        if entry["id"] not in runners:
            assert entry["id"] in LEAD_RUNNERS
            assert entry["status"] == "open" and entry["evidence"] == [], entry["id"]
        if entry["status"] in ("confirmed", "refuted"):
            assert conforming(entry["evidence"], entry["protocol"]), entry["id"]


def test_required_runs_are_committed_and_reproduce() -> None:
    for entry_id in ("H-SV-1", "H-RN-1"):
        entry = store.load_entry(entry_id)
        records = conforming(entry["evidence"], entry["protocol"])
        assert len(records) >= 2, entry_id
        assert records[0]["measured"] == records[1]["measured"], entry_id
        assert records[0]["model"]["weights_sha256"] == records[1]["model"]["weights_sha256"]


def test_board_rows() -> None:
    rows = board_rows()
    assert rows and all(tuple(r) == BOARD_KEYS for r in rows)
    assert [r["id"] for r in rows] == [p.stem for p in store.entry_paths()]
    by_id = {r["id"]: r for r in rows}
    assert by_id["H-PR-1"]["status"] == "proved"


def test_the_relational_experiment_reproduces_across_runs() -> None:
    """C-10 and C-11 ran the same WordNet experiment independently (each run recomputes everything): same numbers."""
    series = ("consistency_hypernym", "shuffled_hypernym", "p_hypernym", "consistency_antonym", "probe_accuracy")
    runs = [conforming(store.load_entry(i)["evidence"], store.load_entry(i)["protocol"]) for i in ("C-10", "C-11")]
    assert all(runs), "C-10 and C-11 each need a conforming run"
    a, b = runs[0][-1], runs[1][-1]
    assert a["data"]["inputs_sha256"] == b["data"]["inputs_sha256"]
    for key in series:
        assert a["measured"][key] == b["measured"][key], key
