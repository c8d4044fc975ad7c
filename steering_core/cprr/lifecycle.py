"""The lifecycle of a conjecture: statuses derived from evidence, transitions checked against it.

Statuses: ``open`` (pre-registered, no evidence under the current protocol) -> ``testing`` (at
least one conforming record) -> ``confirmed`` | ``refuted`` (empirical), or ``open`` | ``testing``
-> ``proved`` (formal). ``confirmed`` -> ``refuted`` is also an edge: a failed replication refutes.
``refuted`` and ``proved`` are terminal for a protocol; only an *amendment* (a new protocol,
recorded as an ``amend`` event with the old protocol kept verbatim) starts again from ``open``.

A record *conforms* when it was made under the protocol now in effect (its ``protocol_sha256``
equals the sha256 of that protocol's canonical JSON) on the protocol's model (embedded aliases
resolve to the canonical name). Only conforming records count:

* ``testing`` needs >= 1 conforming record;
* ``confirmed`` needs >= 2 conforming records, every one with verdict ``pass`` (they agree);
* ``refuted`` needs >= 1 conforming record with verdict ``fail``;
* ``proved`` needs ``proved_by`` naming a property of ``steering_core/data/properties.toml`` whose checks pass
  (:func:`steering_core.cprr.proof.check_property`, deep: SMT and Hypothesis run).

:func:`derived_status` is *the* status the evidence supports; :func:`advance` walks the entry to
it one edge at a time through :func:`transition`, which re-checks the requirement of every edge,
so an automatic step and a requested one share one code path. A refused transition raises
:class:`~steering_core.cprr.errors.InvalidTransitionError` with the reason. Every change appends
a sealed event to the history; nothing already in the history or the evidence is ever rewritten.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from steering_core.cprr import STATUSES, rules
from steering_core.cprr.digests import chain_head, protocol_digest, seal
from steering_core.cprr.errors import InvalidTransitionError
from steering_core.cprr.proof import check_property
from steering_core.cprr.schema import SCHEMA_ID

Entry = dict[str, Any]
EMPIRICAL_EDGES: frozenset[tuple[str, str]] = frozenset(
    {("open", "testing"), ("testing", "confirmed"), ("testing", "refuted"), ("confirmed", "refuted")}
)
PROOF_SOURCES: frozenset[str] = frozenset({"open", "testing"})
MIN_CONFIRMING_RECORDS = 2


def utc_now() -> str:
    """The current UTC time as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def canonical_model_name(name: str) -> str:
    """An embedded model's canonical name for any of its aliases; other names unchanged."""
    # deferred: imports torch only when this runs, not at module import
    from steering_core.models import resolve_embedded

    embedded = resolve_embedded(name)
    return embedded.name if embedded is not None else name


def allowed_targets(current: str) -> list[str]:
    """Statuses a ``transition`` event may go to from ``current``."""
    targets = [b for a, b in sorted(EMPIRICAL_EDGES) if a == current]
    return [*targets, "proved"] if current in PROOF_SOURCES else targets


# --------------------------------------------------------------------------- conformance


def conforming(records: Sequence[dict[str, Any]], protocol: dict[str, Any]) -> list[dict[str, Any]]:
    """The records made under ``protocol`` (same digest) on its model."""
    digest = protocol_digest(protocol)
    model = canonical_model_name(str(protocol["model"]))
    return [r for r in records if r.get("protocol_sha256") == digest and r.get("model", {}).get("name") == model]


def empirical_status(records: Sequence[dict[str, Any]]) -> str:
    """The status conforming ``records`` support: open, testing, confirmed or refuted."""
    if not records:
        return "open"
    if any(r["verdict"] == "fail" for r in records):
        return "refuted"
    if len(records) >= MIN_CONFIRMING_RECORDS and all(r["verdict"] == "pass" for r in records):
        return "confirmed"
    return "testing"


def requirement_problem(target: str, records: Sequence[dict[str, Any]], protocol: dict[str, Any]) -> str | None:
    """Why conforming ``records`` do not qualify ``target`` (None when they do); empirical targets only."""
    rule = rules.describe(protocol["decision_rule"])
    digest = protocol_digest(protocol)[:12]
    passes = sum(r["verdict"] == "pass" for r in records)
    fails = len(records) - passes
    found = f"{len(records)} conforming record(s) under protocol {digest}… ({passes} pass, {fails} fail; rule {rule})"
    if target == "testing":
        return None if records else f"testing needs at least 1 conforming evidence record; found {found}"
    if target == "confirmed":
        if len(records) < MIN_CONFIRMING_RECORDS:
            return f"confirmed needs at least {MIN_CONFIRMING_RECORDS} agreeing passing records; found {found}"
        if fails:
            return f"confirmed needs every conforming record to pass; found {found}"
        return None
    if target == "refuted":
        return None if fails else f"refuted needs at least 1 conforming record with verdict fail; found {found}"
    return f"{target!r} is not an empirical status"


def derived_status(entry: Entry) -> str:
    """The status the entry's evidence supports under its current protocol (``proved`` stays ``proved``)."""
    if entry["status"] == "proved":
        return "proved"
    return empirical_status(conforming(entry["evidence"], entry["protocol"]))


# --------------------------------------------------------------------------- construction


def _append_event(
    entry: Entry, event: str, target: str, reason: str, now: str | None, details: dict[str, Any]
) -> Entry:
    history = entry["history"]
    item = {
        "seq": len(history),
        "date": now or utc_now(),
        "event": event,
        "from": entry["status"] if history else None,
        "to": target,
        "reason": reason,
        "n_evidence": len(entry["evidence"]),
        "details": details,
    }
    history.append(seal(item, chain_head(history)))
    entry["status"] = target
    return entry


def new_entry(
    entry_id: str,
    kind: str,
    group: str,
    title: str,
    statement: str,
    origin: dict[str, Any],
    protocol: dict[str, Any],
    now: str | None = None,
) -> Entry:
    """A freshly pre-registered entry: status ``open``, one ``register`` event, no evidence."""
    entry: Entry = {
        "schema": SCHEMA_ID,
        "id": entry_id,
        "kind": kind,
        "group": group,
        "title": title,
        "statement": statement,
        "origin": origin,
        "protocol": protocol,
        "protocol_sha256": protocol_digest(protocol),
        "status": "open",
        "proved_by": None,
        "history": [],
        "evidence": [],
        "evidence_sha256": None,
    }
    return _append_event(entry, "register", "open", "pre-registered protocol", now, {})


# --------------------------------------------------------------------------- transitions


ProofChecker = Callable[[str], Any]  # property id -> steering_core.cprr.proof.ProofCheck


def _default_checker(property_id: str) -> Any:
    return check_property(property_id, deep=True)


def transition(
    entry: Entry,
    target: str,
    reason: str,
    now: str | None = None,
    proved_by: str | None = None,
    proof_checker: ProofChecker | None = None,
) -> Entry:
    """A copy of ``entry`` moved to ``target``, with a sealed ``transition`` event appended.

    Pre: ``entry`` is a valid entry. Post: ``status == target`` and the history is the old one
    plus one event. ``proved_by`` (a property id) is required for ``proved``.

    Raises:
        InvalidTransitionError: unknown status, not a lifecycle edge, or the evidence (or the
            proof check) does not satisfy the target's requirement; the message says which.
    """
    current = str(entry["status"])
    entry_id = str(entry["id"])
    if target not in STATUSES:
        raise InvalidTransitionError(entry_id, current, target, f"unknown status; statuses are {', '.join(STATUSES)}")
    if target == current:
        raise InvalidTransitionError(entry_id, current, target, "the entry already has this status")
    if target not in allowed_targets(current):
        allowed = ", ".join(allowed_targets(current)) or "none (terminal; amend the protocol to start again)"
        raise InvalidTransitionError(
            entry_id, current, target, f"not a lifecycle edge; allowed from {current}: {allowed}"
        )
    out = copy.deepcopy(entry)
    if target == "proved":
        if not proved_by:
            raise InvalidTransitionError(entry_id, current, target, "proved needs proved_by naming a spec property id")
        check = (proof_checker or _default_checker)(proved_by)
        if not check.ok:
            failed = "; ".join(check.problems) or "its checks did not pass"
            raise InvalidTransitionError(entry_id, current, target, f"property {proved_by}: {failed}")
        out["proved_by"] = {"property": proved_by}
        return _append_event(out, "transition", target, reason, now, check.to_details())
    if proved_by:
        raise InvalidTransitionError(entry_id, current, target, "proved_by is only for the proved status")
    records = conforming(out["evidence"], out["protocol"])
    problem = requirement_problem(target, records, out["protocol"])
    if problem is not None:
        raise InvalidTransitionError(entry_id, current, target, problem)
    details = {
        "protocol_sha256": out["protocol_sha256"],
        "rule": rules.describe(out["protocol"]["decision_rule"]),
        "records": [r["sha256"] for r in records],
    }
    return _append_event(out, "transition", target, reason, now, details)


def _next_step(current: str, goal: str) -> str:
    if current == "open":
        return "testing"
    return goal


def advance(entry: Entry, now: str | None = None) -> Entry:
    """Walk ``entry`` to :func:`derived_status` one edge at a time (each step checked by :func:`transition`).

    Raises:
        InvalidTransitionError: the stored status cannot reach the derived one along lifecycle
            edges (an inconsistent entry; :mod:`steering_core.cprr.validate` reports it too).
    """
    goal = derived_status(entry)
    out = entry
    while out["status"] != goal:
        step = _next_step(str(out["status"]), goal)
        out = transition(out, step, f"evidence now supports {step} (automatic, decision rule recomputed)", now)
    return out


def append_evidence(entry: Entry, record: dict[str, Any], now: str | None = None) -> Entry:
    """A copy of ``entry`` with ``record`` sealed onto the evidence chain, then :func:`advance` d.

    Pre: ``record`` has every field of an evidence record except ``previous``/``sha256``.
    """
    out = copy.deepcopy(entry)
    sealed = seal(record, chain_head(out["evidence"]))
    out["evidence"].append(sealed)
    out["evidence_sha256"] = sealed["sha256"]
    return advance(out, now)


def amend_protocol(
    entry: Entry,
    protocol: dict[str, Any],
    reason: str,
    now: str | None = None,
    statement: str | None = None,
    title: str | None = None,
    group: str | None = None,
    renamed_to: str | None = None,
) -> Entry:
    """A copy of ``entry`` under a new protocol (and optionally a new statement), with an ``amend`` event.

    The old protocol (and statement, title, group) are kept verbatim in the event, so every
    earlier record can still be checked against the protocol it was made under. The status
    restarts from what the evidence under the *new* protocol supports (normally ``open``).
    ``renamed_to`` records that the old claim, with its evidence, continues under another id
    (see :func:`rename_entry`); the id itself then takes the new meaning.

    Raises:
        InvalidTransitionError: the protocol is unchanged, or the entry is ``proved``.
    """
    current = str(entry["status"])
    new_digest = protocol_digest(protocol)
    if new_digest == entry["protocol_sha256"] and (statement is None or statement == entry["statement"]):
        raise InvalidTransitionError(str(entry["id"]), current, current, "amendment changes nothing")
    if current == "proved":
        raise InvalidTransitionError(str(entry["id"]), current, current, "a proved entry is not amended")
    out = copy.deepcopy(entry)
    details: dict[str, Any] = {
        "previous_protocol": entry["protocol"],
        "previous_protocol_sha256": entry["protocol_sha256"],
        "protocol_sha256": new_digest,
    }
    if statement is not None and statement != entry["statement"]:
        details["previous_statement"] = entry["statement"]
        out["statement"] = statement
    for key, value in (("title", title), ("group", group)):
        if value is not None and value != entry[key]:
            details[f"previous_{key}"] = entry[key]
            out[key] = value
    if renamed_to is not None:
        details["renamed_to"] = renamed_to
    out["protocol"] = protocol
    out["protocol_sha256"] = new_digest
    target = empirical_status(conforming(out["evidence"], protocol))
    return _append_event(out, "amend", target, reason, now, details)


def rename_entry(entry: Entry, new_id: str, reason: str, now: str | None = None, **fields: Any) -> Entry:
    """A copy of ``entry`` under id ``new_id``: same protocol, history and evidence, plus a ``rename`` event.

    Nothing is re-sealed: the history and evidence chains are copied verbatim (their digests do
    not cover the id), the ``rename`` event (status unchanged; ``details.from_id``/``to_id``)
    is appended, and records made by the runner of the old id keep counting
    (:func:`former_ids`). ``fields`` may replace ``kind``, ``group``, ``title`` or ``origin``
    (the previous values are kept in the event). The old entry is not touched here: give it
    its new meaning with :func:`amend_protocol` (``renamed_to=new_id``).

    Raises:
        InvalidTransitionError: ``new_id`` equals the current id, or ``fields`` names another key.
    """
    old_id = str(entry["id"])
    status = str(entry["status"])
    if new_id == old_id:
        raise InvalidTransitionError(old_id, status, status, "a rename needs a different id")
    unknown = sorted(set(fields) - {"kind", "group", "title", "origin"})
    if unknown:
        raise InvalidTransitionError(old_id, status, status, f"rename cannot change {', '.join(unknown)}")
    out = copy.deepcopy(entry)
    out["id"] = new_id
    details: dict[str, Any] = {"from_id": old_id, "to_id": new_id}
    for key, value in fields.items():
        if value != entry.get(key):
            details[f"previous_{key}"] = entry.get(key)
            out[key] = value
    return _append_event(out, "rename", status, reason, now, details)


def former_ids(entry: Entry) -> set[str]:
    """Ids this entry carried before (from its ``rename`` events into its current id)."""
    return {
        str(e["details"].get("from_id"))
        for e in entry["history"]
        if e.get("event") == "rename" and e["details"].get("to_id") == entry["id"]
    }


def protocol_versions(entry: Entry) -> list[tuple[int, dict[str, Any]]]:
    """``(history index from which it is in effect, protocol)`` for every protocol the entry has had.

    The first version is in effect from the ``register`` event; each ``amend`` event starts the
    next one (its predecessor is kept in the event's ``details.previous_protocol``).
    """
    amends = [(i, e) for i, e in enumerate(entry["history"]) if e.get("event") == "amend"]
    versions: list[tuple[int, dict[str, Any]]] = []
    start = 0
    for index, event in amends:
        versions.append((start, event["details"].get("previous_protocol", {})))
        start = index
    versions.append((start, entry["protocol"]))
    return versions
