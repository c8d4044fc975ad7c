"""The directed style contracts as registry hypotheses H-SA-1..H-SA-8 (steering_core.cprr.style_axes).

Fast checks: the ids, the prompt-set naming, that each committed protocol is exactly the one the
shipped recipe record, questions and criteria give (otherwise the entry needs an amendment),
that the validator checks the question sets' digests, and that the runner refuses a protocol
that is not the shipped one before it touches a model. The real runs are committed evidence
(``steer cprr run H-SA-1 ... H-SA-8``) and the real-model behaviour test compares them with a
fresh behaviour run (tests/real/test_behaviour.py).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from steering_core.behaviour.contract import DIRECTIONS
from steering_core.behaviour.recipe import load_recipes
from steering_core.behaviour.run import STYLES, RunConfig
from steering_core.cprr import store, style_axes
from steering_core.cprr.errors import ProtocolDataError
from steering_core.cprr.lifecycle import conforming
from steering_core.cprr.runners import RunContext, load_runners
from steering_core.cprr.runners_behaviour import amend_style_axes, register_style_axes, style_axis_contract
from steering_core.cprr.validate import check_entry
from steering_core.errors import InvalidParameterError


def test_one_entry_per_style_and_direction() -> None:
    assert style_axes.STYLES == STYLES
    assert sorted(style_axes.ENTRIES.values()) == sorted((s, d) for s in STYLES for d in DIRECTIONS)
    assert style_axes.ENTRIES["H-SA-1"] == ("terse", "positive")
    assert style_axes.ENTRIES["H-SA-8"] == ("dry-wit", "negative")
    runners = load_runners()
    assert all(not runners[i].fast for i in style_axes.ENTRIES)


def test_set_ids_round_trip_and_refuse_other_names() -> None:
    for style, direction in style_axes.ENTRIES.values():
        set_id = style_axes.set_id(style, direction)
        assert style_axes.parse_set_id(set_id) == (style, direction)
        assert style_axes.question_set(set_id)
    for other in ("neutral-questions-v1", "behaviour/terse_up/held_out", "behaviour/terse_positive/search"):
        assert style_axes.parse_set_id(other) is None and style_axes.question_set(other) is None


def test_committed_protocols_are_the_shipped_data() -> None:
    """A new recipe search or a data change must come with an amendment of these entries."""
    recipes = load_recipes()
    for entry_id, (style, direction) in style_axes.ENTRIES.items():
        entry = store.load_entry(entry_id)
        assert entry["group"] == "style axes" and entry["kind"] == "hypothesis"
        assert entry["protocol"] == style_axes.protocol_for(style, direction, recipes), entry_id


def test_committed_statuses_follow_their_runs() -> None:
    """Every entry was run under its current protocol: a failing run refutes; passing runs make
    it tested, two that agree confirm it."""
    for entry_id in style_axes.ENTRIES:
        entry = store.load_entry(entry_id)
        records = conforming(entry["evidence"], entry["protocol"])
        assert records, f"{entry_id} has no conforming run"
        verdicts = {r["verdict"] for r in records}
        expected = "refuted" if "fail" in verdicts else ("confirmed" if len(records) >= 2 else "testing")
        assert entry["status"] == expected, entry_id
        last = records[-1]["measured"]
        assert (records[-1]["verdict"] == "pass") == bool(last["contract_passed"]), entry_id


def test_the_validator_checks_the_question_digest() -> None:
    entry = copy.deepcopy(store.load_entry("H-SA-3"))
    assert not [p for p in check_entry(entry) if "question set" in p]
    entry["protocol"]["prompt_set"]["sha256"] = "0" * 64
    assert any("question set" in p and "sha256" in p for p in check_entry(entry))
    entry = copy.deepcopy(store.load_entry("H-SA-3"))
    entry["protocol"]["prompt_set"]["n_prompts"] = 4
    assert any("n_prompts and n_samples" in p for p in check_entry(entry))


def test_the_runner_refuses_a_protocol_that_is_not_the_shipped_one() -> None:
    protocol: dict[str, Any] = copy.deepcopy(store.load_entry("H-SA-1")["protocol"])
    protocol["params"]["recipe"]["ratio"] = 0.05  # as if the recipe had been re-searched
    with pytest.raises(ProtocolDataError, match="amend the entry"):
        style_axis_contract(RunContext(loaded=None), protocol)


def test_register_writes_only_missing_entries(tmp_path: Path) -> None:
    assert register_style_axes(tmp_path) == list(style_axes.ENTRIES)
    assert register_style_axes(tmp_path) == []
    fresh = store.load_entry("H-SA-2", tmp_path)
    assert fresh["status"] == "open" and fresh["evidence"] == []
    assert fresh["protocol"] == store.load_entry("H-SA-2")["protocol"]


def test_run_config_refuses_unknown_directions() -> None:
    assert RunConfig(directions=("negative",)).directions == ("negative",)
    for bad in ((), ("up",), ("positive", "sideways"), ("positive", "positive")):
        with pytest.raises(InvalidParameterError, match="directions"):
            RunConfig(directions=bad)


def test_a_new_search_is_an_amendment(tmp_path: Path) -> None:
    """An entry registered under another recipe is amended to the shipped one: the old protocol is
    kept in its history, the status restarts, and a second call has nothing left to amend."""
    recipes = copy.deepcopy(load_recipes())
    assert recipes is not None
    recipes["styles"]["socratic"]["chosen_ratio"]["negative"] = 0.05  # as if searched again
    store.write_entry(style_axes.entry_for("H-SA-6", recipes), tmp_path)
    with pytest.raises(InvalidParameterError, match="reason"):
        amend_style_axes(" ", tmp_path)
    assert amend_style_axes("new recipe search", tmp_path) == ["H-SA-6"]
    entry = store.load_entry("H-SA-6", tmp_path)
    assert entry["protocol"] == store.load_entry("H-SA-6")["protocol"] and entry["status"] == "open"
    (event,) = [e for e in entry["history"] if e["event"] == "amend"]
    assert event["details"]["previous_protocol"]["params"]["recipe"]["ratio"] == 0.05
    assert amend_style_axes("again", tmp_path) == []


def test_the_planning_pass_of_an_executor_context_generates_nothing() -> None:
    """steer cprr run --executor: the engine's planning pass must not run the contract (the behaviour
    session submits its grid to the execution when the contract really runs)."""
    ctx = RunContext(loaded=None)
    ctx._planning = True  # type: ignore[attr-defined]
    assert style_axis_contract(ctx, store.load_entry("H-SA-1")["protocol"]) == {}
