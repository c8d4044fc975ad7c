"""The validator behind ``steer cprr check``: statuses and verdicts are recomputed, never trusted.

For one entry, :func:`check_entry` reports every problem (an empty list means consistent):

1. the JSON Schema (``steering_core/data/cprr/conjecture.schema.json``);
2. ``protocol_sha256`` is the digest of the protocol; the protocol's prompt-set digest is the
   digest of that set as shipped now (a changed prompt set invalidates the protocol);
3. the history and the evidence are unbroken hash chains (an edited, removed or reordered record
   or event breaks a digest or a link) and ``evidence_sha256`` is the evidence chain's head;
4. every record: its verdict is recomputed from its measured values and its decision rule; the
   rule, prompt set and protocol digest are those of the protocol in effect when it was
   appended (a protocol edited after evidence without an ``amend`` event shows up here);
5. the history is replayed from ``register``: every event starts where the previous one ended,
   every ``transition`` is a lifecycle edge whose requirement held for the evidence *at that
   point* (``n_evidence`` records), every ``amend`` keeps the previous protocol verbatim, every
   ``rename`` (an entry continued under a new id) keeps the status and names both ids; records
   made by the runner of an id the entry was renamed from count as its own;
6. the final status is the last event's, and equals the status the evidence supports now
   (:func:`~steering_core.cprr.lifecycle.derived_status`): a status can be neither ahead of its
   evidence nor behind it; ``proved`` needs ``proved_by`` whose property checks pass
   (:func:`~steering_core.cprr.proof.check_property`, shallow unless ``deep``).

:func:`append_only_problems` compares an old and a new version of an entry (the file on disk
before a write, or the version committed at a git ref): the new history and evidence must
extend the old ones unchanged, and protocol or statement may change after evidence exists only
through an ``amend`` event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from steering_core.cprr import rules, style_axes
from steering_core.cprr.digests import chain_head, chain_problems, protocol_digest
from steering_core.cprr.errors import CprrError, MeasurementError
from steering_core.cprr.lifecycle import (
    Entry,
    allowed_targets,
    conforming,
    derived_status,
    empirical_status,
    former_ids,
    protocol_versions,
    requirement_problem,
)
from steering_core.cprr.proof import check_property
from steering_core.cprr.schema import schema_problems
from steering_core.prompt_sets import prompt_set_digest, prompt_set_ids, prompts_digest

ProofChecker = Callable[[str, bool], Any]


def _proof(property_id: str, deep: bool) -> Any:
    return check_property(property_id, deep=deep)


def _prompt_set_problem(protocol: dict[str, Any]) -> str | None:
    set_id = protocol["prompt_set"]["id"]
    questions = style_axes.question_set(set_id)  # a behaviour question set (H-SA entries)
    if questions is not None:
        if prompts_digest(questions) != protocol["prompt_set"]["sha256"]:
            return f"protocol: question set {set_id!r} no longer has the pre-registered sha256 (the data changed)"
        if protocol["prompt_set"]["n_prompts"] != len(questions) or protocol["n_samples"] != len(questions):
            return (
                f"protocol: question set {set_id!r} has {len(questions)} questions; n_prompts and n_samples must say so"
            )
        return None
    if set_id not in prompt_set_ids():
        return f"protocol: prompt set {set_id!r} does not exist (known: {', '.join(prompt_set_ids())})"
    if prompt_set_digest(set_id) != protocol["prompt_set"]["sha256"]:
        return f"protocol: prompt set {set_id!r} no longer has the pre-registered sha256 (the data changed)"
    return None


def _record_problems(entry: Entry, versions: list[tuple[int, dict[str, Any]]]) -> list[str]:
    problems: list[str] = []
    former = former_ids(entry)
    amend_marks = [e["n_evidence"] for e in entry["history"] if e["event"] == "amend"]
    for index, record in enumerate(entry["evidence"]):
        where = f"evidence[{index}]"
        version = versions[sum(1 for n in amend_marks if n <= index)][1]
        if record["runner"]["id"] != entry["id"] and record["runner"]["id"] not in former:
            problems.append(f"{where}: made by the runner of {record['runner']['id']}, not {entry['id']}")
        try:
            recomputed = rules.verdict(record["decision_rule"], record["measured"])
            if recomputed != record["verdict"]:
                problems.append(
                    f"{where}: stored verdict {record['verdict']!r} but the decision rule "
                    f"{rules.describe(record['decision_rule'])} gives {recomputed!r} on its measured values"
                )
        except MeasurementError as error:
            problems.append(f"{where}: verdict cannot be recomputed: {error}")
        try:
            digest = protocol_digest(version)
        except CprrError:
            problems.append(f"{where}: the protocol in effect is not canonical JSON")
            continue
        if record["protocol_sha256"] != digest:
            problems.append(
                f"{where}: made under protocol {record['protocol_sha256'][:12]}… but protocol {digest[:12]}… was in "
                "effect (protocol edited after evidence without an amend event?)"
            )
            continue
        if record["decision_rule"] != version.get("decision_rule"):
            problems.append(f"{where}: its decision rule is not the protocol's")
        data = record["data"]
        prompt_set = version.get("prompt_set", {})
        if data["prompt_set"] != prompt_set.get("id") or data["prompt_set_sha256"] != prompt_set.get("sha256"):
            problems.append(f"{where}: its prompt set is not the protocol's")
    return problems


def _replay_problems(entry: Entry, versions: list[tuple[int, dict[str, Any]]]) -> tuple[list[str], str | None]:
    problems: list[str] = []
    evidence = entry["evidence"]
    state: str | None = None
    last_n = 0
    amends_seen = 0
    for index, event in enumerate(entry["history"]):
        where = f"history[{index}] ({event['event']} {event['from']} -> {event['to']})"
        if event["seq"] != index:
            problems.append(f"{where}: seq {event['seq']} is not its position {index}")
        if index == 0:
            if event["event"] != "register" or event["from"] is not None or event["to"] != "open":
                problems.append(f"{where}: the first event must be register None -> open")
            if event["n_evidence"] != 0:
                problems.append(f"{where}: registered after evidence (pre-registration must come first)")
            state, last_n = "open", 0
            continue
        if event["from"] != state:
            problems.append(f"{where}: starts from {event['from']!r} but the previous event ended at {state!r}")
        n = event["n_evidence"]
        if n < last_n or n > len(evidence):
            problems.append(f"{where}: n_evidence {n} is not within [{last_n}, {len(evidence)}]")
            n = max(last_n, min(n, len(evidence)))
        if event["event"] == "amend":
            amends_seen += 1
            details = event["details"]
            previous = details.get("previous_protocol")
            if not isinstance(previous, dict) or details.get("previous_protocol_sha256") != protocol_digest(previous):
                problems.append(f"{where}: does not keep the previous protocol verbatim with its digest")
            new_protocol = versions[amends_seen][1]
            if details.get("protocol_sha256") != protocol_digest(new_protocol):
                problems.append(f"{where}: its protocol_sha256 is not the digest of the protocol that followed")
            supported = empirical_status(conforming(evidence[:n], new_protocol))
            if event["to"] != supported:
                problems.append(f"{where}: after the amendment the evidence supported {supported!r}")
        elif event["event"] == "transition":
            source = event["from"] if isinstance(event["from"], str) else ""
            if event["to"] not in allowed_targets(source):
                problems.append(f"{where}: not a lifecycle edge (allowed from {source}: {allowed_targets(source)})")
            elif event["to"] == "proved":
                proved_by = entry.get("proved_by") or {}
                if event["details"].get("property") != proved_by.get("property"):
                    problems.append(f"{where}: names property {event['details'].get('property')!r}, not proved_by")
            else:
                protocol = versions[amends_seen][1]
                problem = requirement_problem(event["to"], conforming(evidence[:n], protocol), protocol)
                if problem is not None:
                    problems.append(f"{where}: the evidence at that point ({n} record(s)) did not qualify: {problem}")
        elif event["event"] == "rename":
            details = event["details"]
            if event["to"] != state:
                problems.append(f"{where}: a rename does not change the status")
            if (
                details.get("to_id") != entry["id"]
                or not details.get("from_id")
                or details.get("from_id") == entry["id"]
            ):
                problems.append(f"{where}: must name from_id (another id) and to_id {entry['id']!r}")
        else:
            problems.append(f"{where}: a second register event")
        state, last_n = event["to"], n
    return problems, state


def check_entry(entry: Any, deep: bool = False, proof_checker: ProofChecker | None = None) -> list[str]:
    """Every inconsistency of ``entry`` (see the module docstring); empty when it is consistent.

    ``deep`` runs the SMT and Hypothesis checks of a ``proved`` entry's property.
    """
    problems = schema_problems(entry)
    if problems:
        return [f"schema: {p}" for p in problems]
    if entry["protocol_sha256"] != protocol_digest(entry["protocol"]):
        problems.append("protocol_sha256 is not the sha256 of the protocol (protocol edited?)")
    prompt_problem = _prompt_set_problem(entry["protocol"])
    if prompt_problem:
        problems.append(prompt_problem)
    problems += chain_problems(entry["history"], "history")
    problems += chain_problems(entry["evidence"], "evidence")
    if entry["evidence_sha256"] != chain_head(entry["evidence"]):
        problems.append("evidence_sha256 is not the digest of the last evidence record")
    versions = protocol_versions(entry)
    problems += _record_problems(entry, versions)
    replay, final = _replay_problems(entry, versions)
    problems += replay
    status = entry["status"]
    if final != status:
        problems.append(f"status {status!r} but the history ends at {final!r}")
    if status == "proved":
        proved_by = entry["proved_by"]
        if proved_by is None:
            problems.append("status 'proved' without proved_by")
        else:
            check = (proof_checker or _proof)(str(proved_by["property"]), deep)
            if not check.ok:
                problems.append(f"proved_by {proved_by['property']}: {'; '.join(check.problems)}")
    else:
        if entry["proved_by"] is not None:
            problems.append(f"proved_by is set but the status is {status!r}")
        supported = derived_status(entry)
        if supported != status:
            problems.append(
                f"status {status!r} but the evidence supports {supported!r} "
                f"({requirement_problem(status, conforming(entry['evidence'], entry['protocol']), entry['protocol'])})"
                if status in ("testing", "confirmed", "refuted")
                else f"status {status!r} but the evidence supports {supported!r}"
            )
    return problems


def append_only_problems(old: Entry, new: Entry) -> list[str]:
    """How ``new`` fails to be an append-only extension of ``old`` (empty when it is one)."""
    problems: list[str] = []
    if old.get("id") != new.get("id"):
        return [f"id changed from {old.get('id')!r} to {new.get('id')!r}"]
    for key in ("history", "evidence"):
        before, after = old.get(key, []), new.get(key, [])
        if len(after) < len(before):
            problems.append(f"{key}: {len(before) - len(after)} item(s) removed (append-only)")
        for index, (a, b) in enumerate(zip(before, after, strict=False)):
            if a != b:
                problems.append(f"{key}[{index}] changed (append-only: earlier items are never edited)")
                break
    if old.get("kind") != new.get("kind"):
        problems.append("kind changed")
    if old.get("evidence"):
        appended = new.get("history", [])[len(old.get("history", [])) :]
        amended = any(
            e.get("event") == "amend"
            and e.get("details", {}).get("previous_protocol_sha256") == old.get("protocol_sha256")
            for e in appended
        )
        if old.get("protocol") != new.get("protocol") and not amended:
            problems.append("protocol changed after evidence was recorded without an amend event")
        if old.get("statement") != new.get("statement") and not amended:
            problems.append("statement changed after evidence was recorded without an amend event")
    return problems
