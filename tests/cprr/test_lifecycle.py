"""Lifecycle: transitions are accepted only when the evidence (or the proof) qualifies them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from steering_core.cprr.errors import InvalidTransitionError
from steering_core.cprr.lifecycle import (
    Entry,
    advance,
    amend_protocol,
    append_evidence,
    derived_status,
    transition,
)
from steering_core.cprr.proof import ProofCheck
from steering_core.cprr.validate import check_entry
from tests.cprr.conftest import NOW, fake_record

PASS = {"mean_abs_cos": 0.3}
FAIL = {"mean_abs_cos": 0.1}


def with_records(entry: Entry, *measured: dict[str, Any], model_name: str | None = None) -> Entry:
    for values in measured:
        entry = append_evidence(entry, fake_record(entry, values, model_name), NOW)
    return entry


def statuses(entry: Entry) -> list[str]:
    return [e["to"] for e in entry["history"]]


def test_confirmed_without_qualifying_evidence_is_rejected(sv1: Entry) -> None:
    # open -> confirmed is not an edge at all, with or without evidence
    with pytest.raises(InvalidTransitionError, match="not a lifecycle edge"):
        transition(sv1, "confirmed", "wishful")
    # one passing run is not enough
    one = with_records(sv1, PASS)
    assert one["status"] == "testing"
    with pytest.raises(InvalidTransitionError, match="at least 2") as info:
        transition(one, "confirmed", "one run")
    assert info.value.reason and info.value.target == "confirmed" and info.value.current == "testing"
    # two runs that disagree (one fails the rule) never confirm; the entry is refuted instead
    mixed = with_records(sv1, PASS, FAIL)
    assert mixed["status"] == "refuted"
    with pytest.raises(InvalidTransitionError):
        transition(mixed, "confirmed", "cherry-picked")


def test_confirmed_needs_conforming_records(sv1: Entry) -> None:
    # two passing records on another model do not conform: the status does not move
    other = with_records(sv1, PASS, PASS, model_name="smollm2-135m-instruct")
    assert other["status"] == "open" and len(other["evidence"]) == 2
    with pytest.raises(InvalidTransitionError, match="testing needs at least 1 conforming"):
        transition(other, "testing", "other model")
    # records under an older protocol stop counting after an amendment
    confirmed = with_records(sv1, PASS, PASS)
    assert confirmed["status"] == "confirmed"
    protocol = copy.deepcopy(confirmed["protocol"])
    protocol["decision_rule"] = {"metric": "mean_abs_cos", "op": ">", "threshold": 0.2}
    amended = amend_protocol(confirmed, protocol, "stricter threshold", NOW)
    assert amended["status"] == "open"
    with pytest.raises(InvalidTransitionError):
        transition(amended, "testing", "old evidence")
    assert check_entry(amended) == []


def test_automatic_path_and_failed_replication(sv1: Entry) -> None:
    entry = with_records(sv1, PASS)
    assert statuses(entry) == ["open", "testing"]
    entry = with_records(entry, PASS)
    assert statuses(entry) == ["open", "testing", "confirmed"]
    entry = with_records(entry, FAIL)
    assert statuses(entry) == ["open", "testing", "confirmed", "refuted"]
    assert check_entry(entry) == []
    with pytest.raises(InvalidTransitionError, match="terminal"):
        transition(entry, "confirmed", "try again")


def test_refuted_needs_a_failing_run(sv1: Entry) -> None:
    entry = with_records(sv1, PASS)
    with pytest.raises(InvalidTransitionError, match="verdict fail"):
        transition(entry, "refuted", "no")
    refuted = with_records(sv1, FAIL)
    assert statuses(refuted) == ["open", "testing", "refuted"]


def test_unknown_and_repeated_status(sv1: Entry) -> None:
    with pytest.raises(InvalidTransitionError, match="unknown status"):
        transition(sv1, "plausible", "x")
    with pytest.raises(InvalidTransitionError, match="already"):
        transition(sv1, "open", "x")


def _checker(ok: bool) -> Any:
    def check(property_id: str) -> ProofCheck:
        problems = () if ok else ("SMT R: FAILED",)
        return ProofCheck(
            property_id, True, ok, {"SMT R": "proved" if ok else "FAILED"}, None, ("T.x",), "0" * 64, problems
        )

    return check


def test_proved_needs_a_property_whose_checks_pass(sv1: Entry) -> None:
    with pytest.raises(InvalidTransitionError, match="needs proved_by"):
        transition(sv1, "proved", "formal", proof_checker=_checker(True))
    with pytest.raises(InvalidTransitionError, match="SMT R: FAILED"):
        transition(sv1, "proved", "formal", proved_by="P-additivity", proof_checker=_checker(False))
    with pytest.raises(InvalidTransitionError, match="no property"):
        transition(sv1, "proved", "formal", proved_by="P-no-such-law")  # real checker, stops at the lookup
    proved = transition(sv1, "proved", "formal", proved_by="P-additivity", proof_checker=_checker(True))
    assert proved["status"] == "proved" and proved["proved_by"] == {"property": "P-additivity"}
    assert proved["history"][-1]["details"]["matrix"] == {"SMT R": "proved"}
    with pytest.raises(InvalidTransitionError, match="only for the proved"):
        transition(with_records(sv1, PASS), "confirmed", "x", proved_by="P-additivity")
    refuted = with_records(sv1, FAIL)
    with pytest.raises(InvalidTransitionError, match="not a lifecycle edge"):
        transition(refuted, "proved", "x", proved_by="P-additivity", proof_checker=_checker(True))


def test_real_proof_check_of_a_property() -> None:
    """The deep check runs the matrix row (z3 + the linked Hypothesis test); a few seconds."""
    from steering_core.cprr.proof import check_property

    check = check_property("P-ratio-scale-invariance", deep=True)
    assert check.ok, check.problems
    assert check.cells["SMT R"] == "proved" and check.cells["Hypothesis"].startswith("pass")
    assert "SteeringSpec.ratio_smul" in check.theorems


def test_advance_is_idempotent_and_derived(sv1: Entry) -> None:
    entry = with_records(sv1, PASS, PASS)
    assert derived_status(entry) == "confirmed"
    assert advance(entry, NOW) == entry
