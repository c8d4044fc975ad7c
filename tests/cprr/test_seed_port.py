"""The seed's ids carry the seed's meaning; the claims that had taken them continue under new ids (issue 20).

Checks the committed registry (every seed id: the seed's text, a protocol pre-registered before any
record under it, the layer mapping; every renamed claim: a rename event, its evidence copied verbatim
from the seed id's file) and the rename/amend machinery on copies (tampering is caught).
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from steering_core.cprr import store
from steering_core.cprr.errors import InvalidTransitionError
from steering_core.cprr.lifecycle import amend_protocol, former_ids, rename_entry
from steering_core.cprr.seed_port import RENAMES, seed_entries
from steering_core.cprr.validate import check_entry
from tests.cprr.conftest import NOW

SEED_IDS = [f"C-{n}" for n in range(1, 15)]


def test_every_seed_id_has_the_seeds_meaning() -> None:
    specs = seed_entries()
    for entry_id in SEED_IDS:
        entry = store.load_entry(entry_id)
        seed = entry["seed"]
        assert seed["hypothesis"] == specs[entry_id]["seed"]["hypothesis"], entry_id
        assert seed["status"] in ("open", "confirmed", "refuted"), entry_id
        assert entry["origin"]["source"] == "seed" and entry["origin"]["seed_id"] == entry_id
        assert "round(l * 23 / 27)" in entry["protocol"]["layer_mapping"]
        if entry_id in RENAMES:
            assert entry["protocol"] == specs[entry_id]["protocol"], entry_id
            assert entry["title"] == specs[entry_id]["title"]


def test_seed_protocols_were_registered_before_their_evidence() -> None:
    """The amend event that gave the seed meaning precedes every record made under the new protocol."""
    for entry_id in RENAMES:
        entry = store.load_entry(entry_id)
        amends = [e for e in entry["history"] if e["event"] == "amend"]
        assert [e["details"]["renamed_to"] for e in amends if "renamed_to" in e["details"]] == [RENAMES[entry_id][0]]
        n_before = amends[-1]["n_evidence"]  # a later amend (compute budget) also came before any record
        for record in entry["evidence"][n_before:]:
            assert record["protocol_sha256"] == entry["protocol_sha256"]
            assert record["date"] >= amends[-1]["date"]


def test_renamed_claims_keep_their_evidence() -> None:
    for old_id, (new_id, _group) in RENAMES.items():
        old, new = store.load_entry(old_id), store.load_entry(new_id)
        assert former_ids(new) == {old_id}
        events = [e for e in new["history"] if e["event"] == "rename"]
        assert len(events) == 1 and events[0]["details"] == {**events[0]["details"], "from_id": old_id, "to_id": new_id}
        copied = [r for r in new["evidence"] if r["runner"]["id"] == old_id]
        assert copied and copied == old["evidence"][: len(copied)], new_id
        assert (
            new["protocol"]
            == old["history"][[e["event"] for e in old["history"]].index("amend")]["details"]["previous_protocol"]
        )
        assert new["status"] == events[0]["to"]
        assert new["origin"]["source"] == "project" and old_id in new["origin"]["notes"]


def test_rename_and_amend_on_a_copy(tmp_path: Path) -> None:
    entry = store.load_entry("H-SV-1")
    renamed = rename_entry(entry, "H-SV-9", "test rename", NOW, kind="hypothesis", group="style axes")
    assert renamed["evidence"] == entry["evidence"] and renamed["status"] == entry["status"]
    assert renamed["history"][:-1] == entry["history"] and renamed["history"][-1]["event"] == "rename"
    assert check_entry(renamed) == []
    protocol = copy.deepcopy(entry["protocol"])
    protocol["params"]["note"] = "a new meaning"
    amended = amend_protocol(entry, protocol, "new meaning", NOW, statement="A new statement about the id.",
                             title="A new title", renamed_to="H-SV-9")  # fmt: skip
    assert amended["status"] == "open" and amended["title"] == "A new title"
    assert amended["history"][-1]["details"]["previous_title"] == entry["title"]
    assert check_entry(amended) == []
    with pytest.raises(InvalidTransitionError, match="different id"):
        rename_entry(entry, "H-SV-1", "no-op", NOW)
    with pytest.raises(InvalidTransitionError, match="cannot change evidence"):
        rename_entry(entry, "H-SV-8", "bad", NOW, evidence=[])


def test_tampered_renames_are_caught() -> None:
    entry = store.load_entry("H-SV-1")
    renamed = rename_entry(entry, "H-SV-9", "test rename", NOW)
    # a record of a third id is not the entry's
    foreign = copy.deepcopy(renamed)
    foreign["history"][-1]["details"]["from_id"] = "H-XX-1"
    problems = check_entry(foreign)
    assert any("made by the runner of H-SV-1" in p for p in problems)
    # a rename that changes the status
    moved = copy.deepcopy(entry)
    moved["id"] = "H-SV-9"
    from steering_core.cprr.lifecycle import _append_event

    moved = _append_event(moved, "rename", "open", "sneaky", NOW, {"from_id": "H-SV-1", "to_id": "H-SV-9"})
    assert any("does not change the status" in p for p in check_entry(moved))


def test_board_and_report_show_the_seed_table(tmp_path: Path) -> None:
    from steering_core.cprr.board import SEED_KEYS, render_board, seed_rows
    from steering_core.report.build import build_report
    from steering_core.report.data import ReportData
    from steering_core.report.sources import board_section

    rows = seed_rows()
    assert [r["id"] for r in rows] == SEED_IDS and all(tuple(r) == SEED_KEYS for r in rows)
    text = render_board()
    assert "seed vs ours" in text and "Hypernym direction is stable" in text and "H-GEO-1" in text
    section = board_section()
    assert [r["id"] for r in section["seed_rows"]] == SEED_IDS
    data = ReportData(meta={"style": "terse", "layer": 12, "alpha": 0.5})
    data.board = section
    html = build_report(data, tmp_path / "r").read_text(encoding="utf-8")
    assert "seed vs ours" in html and "Layers 0-7 produce topic drift not style shift" in html
