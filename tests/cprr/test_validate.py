"""The validator recomputes verdicts and statuses: hand edits of an entry cannot make a status lie."""

from __future__ import annotations

import copy
from typing import Any

from steering_core.cprr.digests import chain_head, seal
from steering_core.cprr.lifecycle import Entry, append_evidence
from steering_core.cprr.validate import append_only_problems, check_entry
from tests.cprr.conftest import NOW, fake_record

PASS = {"mean_abs_cos": 0.3}
FAIL = {"mean_abs_cos": 0.1}


def records(entry: Entry, *measured: dict[str, Any]) -> Entry:
    for values in measured:
        entry = append_evidence(entry, fake_record(entry, values), NOW)
    return entry


def forge_event(entry: Entry, target: str) -> Entry:
    """Append a correctly sealed transition event by hand (what a careful forger would do)."""
    out = copy.deepcopy(entry)
    event = {
        "seq": len(out["history"]),
        "date": NOW,
        "event": "transition",
        "from": out["status"],
        "to": target,
        "reason": "edited by hand",
        "n_evidence": len(out["evidence"]),
        "details": {},
    }
    out["history"].append(seal(event, chain_head(out["history"])))
    out["status"] = target
    return out


def reseal_evidence(entry: Entry) -> Entry:
    """Recompute every record's link and digest (a forger re-sealing after an edit)."""
    out = copy.deepcopy(entry)
    sealed: list[dict[str, Any]] = []
    for record in out["evidence"]:
        sealed.append(seal(record, chain_head(sealed)))
    out["evidence"] = sealed
    out["evidence_sha256"] = chain_head(sealed)
    return out


def joined(problems: list[str]) -> str:
    return "\n".join(problems)


def test_consistent_entries_pass(sv1: Entry) -> None:
    assert check_entry(sv1) == []
    assert check_entry(records(sv1, PASS)) == []
    assert check_entry(records(sv1, PASS, PASS)) == []
    assert check_entry(records(sv1, FAIL)) == []


def test_hand_edited_confirmed_with_zero_or_one_passing_record_is_rejected(sv1: Entry) -> None:
    for entry in (sv1, records(sv1, PASS)):
        edited = copy.deepcopy(entry)
        edited["status"] = "confirmed"  # only the status edited
        problems = joined(check_entry(edited))
        assert "status 'confirmed' but the evidence supports" in problems
        assert "history ends at" in problems
        forged = forge_event(records(sv1, PASS), "confirmed")  # with a well-sealed history event too
        problems = joined(check_entry(forged))
        assert "did not qualify" in problems and "at least 2" in problems


def test_hand_edited_confirmed_with_a_failing_record_is_rejected(sv1: Entry) -> None:
    refuted = records(sv1, PASS, FAIL)
    edited = copy.deepcopy(refuted)
    edited["status"] = "confirmed"
    assert "evidence supports 'refuted'" in joined(check_entry(edited))
    # rewrite the history so that it claims testing -> confirmed instead of testing -> refuted
    forged = copy.deepcopy(refuted)
    forged["history"] = forged["history"][:-1]
    forged["status"] = "testing"
    forged = forge_event(forged, "confirmed")
    problems = joined(check_entry(forged))
    assert "did not qualify" in problems and "every conforming record to pass" in problems


def test_edited_verdict_is_caught(sv1: Entry) -> None:
    entry = records(sv1, FAIL)
    edited = copy.deepcopy(entry)
    edited["evidence"][0]["verdict"] = "pass"
    problems = joined(check_entry(edited))
    assert "sha256 does not match its content" in problems
    assert "stored verdict 'pass'" in problems
    # even re-sealed, the verdict is recomputed from the measured values
    problems = joined(check_entry(reseal_evidence(edited)))
    assert "stored verdict 'pass' but the decision rule mean_abs_cos > 0.15 gives 'fail'" in problems


def test_altered_measured_value_breaks_the_digest(sv1: Entry) -> None:
    entry = records(sv1, PASS, PASS)
    edited = copy.deepcopy(entry)
    edited["evidence"][0]["measured"]["mean_abs_cos"] = 0.31
    assert "evidence[0]: sha256 does not match" in joined(check_entry(edited))
    resealed = copy.deepcopy(edited)
    resealed["evidence"][0] = seal(resealed["evidence"][0], None)
    problems = joined(check_entry(resealed))
    assert "evidence[1]: 'previous' does not link" in problems
    # and the entry's cited evidence digest no longer matches once the whole chain is re-sealed
    fully = reseal_evidence(edited)
    assert fully["evidence_sha256"] != entry["evidence_sha256"]
    assert append_only_problems(entry, fully)  # vs the committed version: an earlier record changed


def test_removed_history_or_evidence_is_caught(sv1: Entry) -> None:
    entry = records(sv1, PASS, PASS)
    middle = copy.deepcopy(entry)
    del middle["history"][1]
    problems = joined(check_entry(middle))
    assert "'previous' does not link" in problems
    last = copy.deepcopy(entry)
    del last["history"][-1]
    assert "status 'confirmed' but the history ends at 'testing'" in joined(check_entry(last))
    dropped = copy.deepcopy(entry)
    del dropped["evidence"][0]
    problems = joined(check_entry(dropped))
    assert "evidence[0]: 'previous' does not link to nothing" in problems
    assert "n_evidence 2 is not within [1, 1]" in problems
    assert "status 'confirmed' but the evidence supports 'testing'" in problems
    assert "item(s) removed" in joined(append_only_problems(entry, last))


def test_protocol_edit_after_evidence_is_caught(sv1: Entry) -> None:
    entry = records(sv1, PASS)
    edited = copy.deepcopy(entry)
    edited["protocol"]["decision_rule"]["threshold"] = 0.05
    assert "protocol_sha256 is not the sha256" in joined(check_entry(edited))
    from steering_core.cprr.digests import protocol_digest

    edited["protocol_sha256"] = protocol_digest(edited["protocol"])
    problems = joined(check_entry(edited))
    assert "without an amend event" in problems
    assert "protocol changed after evidence" in joined(append_only_problems(entry, edited))


def test_prompt_set_digest_must_match_the_shipped_set(sv1: Entry) -> None:
    from steering_core.cprr.digests import protocol_digest

    edited = copy.deepcopy(sv1)
    edited["protocol"]["prompt_set"]["sha256"] = "f" * 64
    edited["protocol_sha256"] = protocol_digest(edited["protocol"])
    assert "no longer has the pre-registered sha256" in joined(check_entry(edited))


def test_proved_status_needs_proved_by(sv1: Entry) -> None:
    edited = copy.deepcopy(sv1)
    edited["status"] = "proved"
    problems = joined(check_entry(edited))
    assert "without proved_by" in problems
    edited["proved_by"] = {"property": "P-no-such-law"}
    assert "no property 'P-no-such-law'" in joined(check_entry(edited))


def test_schema_violations_are_reported(sv1: Entry) -> None:
    edited = copy.deepcopy(sv1)
    edited["status"] = "plausible"
    assert any(p.startswith("schema: status") for p in check_entry(edited))
    edited = copy.deepcopy(sv1)
    del edited["protocol"]["seed"]
    assert any("seed" in p for p in check_entry(edited))
