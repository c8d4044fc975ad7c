"""Run a conjecture's protocol and append the evidence: the one path from a runner to a record.

:func:`run_entry` loads the entry, finds its runner, loads the protocol's model (or uses the
given context), runs the runner under :func:`~steering_core.cprr.runners.deterministic` with the
protocol's seed, normalises the measured values, builds the record (verdict computed from the
decision rule), appends it to the evidence chain, lets the lifecycle derive the new status, and
writes the entry atomically (refused if it would not be an append-only extension of the file).
``dry_run`` does everything except the write.

A run on another model than the protocol's is recorded but does not *conform*, so it never
moves the status (see :mod:`steering_core.cprr.lifecycle`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steering_core.cprr import store
from steering_core.cprr.digests import chain_head, seal
from steering_core.cprr.errors import NoRunnerError
from steering_core.cprr.evidence import build_record, machine_info, model_info, normalize_measured
from steering_core.cprr.lifecycle import Entry, append_evidence, canonical_model_name, conforming, utc_now
from steering_core.cprr.rules import metrics
from steering_core.cprr.runners import RunContext, Runner, deterministic, load_runners
from steering_core.models import load_model


def _silent(_: str) -> None:
    return None


@dataclass(frozen=True)
class RunOutcome:
    """The result of one run: the record (sealed as it would be appended) and the status change."""

    entry_id: str
    record: dict[str, Any]
    status_before: str
    status_after: str
    appended: bool
    conforms: bool
    reproduces: bool | None  # same measured values as the previous conforming record (None: no previous)

    def summary(self) -> str:
        """One line: id, verdict, the rule's metrics, status change, reproducibility."""
        measured = self.record["measured"]
        shown = ", ".join(f"{m}={measured[m]:.6g}" for m in metrics(self.record["decision_rule"]) if m in measured)
        change = (
            f"{self.status_before} -> {self.status_after}"
            if self.status_before != self.status_after
            else self.status_after
        )
        notes = []
        if not self.conforms:
            notes.append("does not conform to the protocol (other model): status unchanged")
        if self.reproduces is not None:
            notes.append("reproduces the previous run" if self.reproduces else "DIFFERS from the previous run")
        if not self.appended:
            notes.append("dry run, nothing written")
        tail = f" ({'; '.join(notes)})" if notes else ""
        return f"{self.entry_id}: {self.record['verdict']} [{shown}] status {change}{tail}"


def runner_for(entry_id: str) -> Runner:
    """The registered runner of ``entry_id``.

    Raises:
        NoRunnerError: none registered (the message lists the runnable ids).
    """
    runners = load_runners()
    if entry_id not in runners:
        raise NoRunnerError(entry_id, sorted(runners, key=store.id_sort_key))
    return runners[entry_id]


def make_context(
    model: str, log: Callable[[str], None] = _silent, dtype: str = "float32", execution: Any = None
) -> RunContext:
    """Load ``model`` (embedded name, folder or HF id) in ``dtype`` and wrap it in a :class:`RunContext`.

    With ``execution`` (:mod:`steering_core.execute`, ``--executor local|ray``) generations run as
    execution cells (:class:`steering_core.execute.cprr_context.ExecutorRunContext`).
    """
    import torch

    loaded = load_model(model, dtype=getattr(torch, dtype), progress=log)
    if execution is not None:
        # deferred: imports deal, icontract only when this runs, not at module import
        from steering_core.execute.cprr_context import ExecutorRunContext

        return ExecutorRunContext(loaded, log, execution=execution)
    return RunContext(loaded, log)


def run_entry(
    entry_id: str,
    directory: Path | str | None = None,
    context: RunContext | None = None,
    model: str | None = None,
    dry_run: bool = False,
    log: Callable[[str], None] = _silent,
    now: str | None = None,
) -> RunOutcome:
    """Run the protocol of ``entry_id`` and append the evidence (see the module docstring).

    Raises:
        UnknownConjectureError, NoRunnerError, ProtocolDataError, MeasurementError, EntryError,
        AppendOnlyError: with the reason in the message.
    """
    entry = store.load_entry(entry_id, directory)
    chosen = runner_for(entry_id)
    protocol = entry["protocol"]
    ctx = context if context is not None else make_context(model or protocol["model"], log, protocol["dtype"])
    ctx.begin()
    start = time.perf_counter()
    plan = getattr(ctx, "plan", None)
    if plan is not None:  # an executor context: the run's cells are submitted at once (steering_core.execute)
        plan(chosen.fn, protocol)
    with deterministic(int(protocol["seed"])):
        raw = chosen.fn(ctx, protocol)
    runtime = time.perf_counter() - start
    measured = normalize_measured(raw)
    record = build_record(
        entry_id=entry_id,
        runner_function=chosen.function_name,
        fast=chosen.fast,
        protocol=protocol,
        protocol_sha256=entry["protocol_sha256"],
        model=model_info(ctx.model, canonical_model_name(str(ctx.loaded.name))),
        inputs_sha256=ctx.inputs_sha256(),
        measured=measured,
        runtime_s=runtime,
        machine=machine_info(ctx.model),
        date=now or utc_now(),
    )
    conforms = bool(conforming([record], protocol))
    previous = conforming(entry["evidence"], protocol)
    reproduces = (previous[-1]["measured"] == measured) if (conforms and previous) else None
    if dry_run:
        sealed = seal(record, chain_head(entry["evidence"]))
        return RunOutcome(entry_id, sealed, entry["status"], entry["status"], False, conforms, reproduces)
    updated: Entry = append_evidence(entry, record, now)
    store.write_entry(updated, directory)
    return RunOutcome(entry_id, updated["evidence"][-1], entry["status"], updated["status"], True, conforms, reproduces)


def runnable_ids(fast_only: bool, directory: Path | str | None = None) -> list[str]:
    """Ids of the registry's entries that have a runner (only the fast ones with ``fast_only``), in id order."""
    runners = load_runners()
    ids = [p.stem for p in store.entry_paths(directory)]
    return [i for i in ids if i in runners and (runners[i].fast or not fast_only)]


def run_many(
    entry_ids: Sequence[str],
    directory: Path | str | None = None,
    model: str | None = None,
    dry_run: bool = False,
    log: Callable[[str], None] = _silent,
    context: RunContext | None = None,
    execution: Any = None,
) -> list[RunOutcome]:
    """Run several entries, loading each distinct model once (each run still recomputes everything else)."""
    contexts: dict[tuple[str, str], RunContext] = {}
    outcomes: list[RunOutcome] = []
    for entry_id in entry_ids:
        protocol = store.load_entry(entry_id, directory)["protocol"]
        ctx = context
        if ctx is None:
            key = (canonical_model_name(model or protocol["model"]), protocol["dtype"])
            if key not in contexts:
                contexts[key] = make_context(model or protocol["model"], log, protocol["dtype"], execution)
            ctx = contexts[key]
        outcome = run_entry(entry_id, directory, ctx, model, dry_run, log)
        log(outcome.summary())
        outcomes.append(outcome)
    return outcomes
