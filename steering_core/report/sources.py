"""Report inputs that need no model: the verification matrix, the conjecture board, certificates,
recorded JSON files (sweep, behaviour, bench), style metrics of recorded answers, and the code
version.

Every function returns plain JSON-ready data (dicts and lists), so the report can be rebuilt
offline from ``report/data/*.json``. Optional sources never raise for being absent: they return
a section dict with ``"available": False`` and the reason, which the page shows.

Verification matrix modes (``steer report --matrix``), measured on 2 CPU cores:

* ``fast`` (default, seconds): registry links, the Lean kernel check of ``lean4/Kernel`` (about
  3 s of CPU; ``lake`` on the Mathlib reference where installed), runtime-contract attachment;
  the SMT and Hypothesis columns read ``skipped``;
* ``smt`` (~45 s): plus the z3 checks over the reals and IEEE floats;
* ``full`` (minutes): plus the linked Hypothesis tests, exactly ``steer spec``.

``--matrix-json FILE`` takes the rows recorded by an earlier report (``data/matrix.json``).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from steering_core.errors import InvalidParameterError
from steering_core.resources import checkout_root

MATRIX_MODES: tuple[str, ...] = ("fast", "smt", "full")
MATRIX_NOTES: dict[str, str] = {
    "fast": "fast form: links, the Lean kernel and contracts checked; the SMT and Hypothesis columns were not run "
    "(`steer report --matrix full`, or `steer spec`, runs every check)",
    "smt": "SMT checks run; the Hypothesis column was not run (`steer report --matrix full` runs it)",
    "full": "every check run (the same as `steer spec`)",
}


def read_json(path: str | Path, what: str) -> Any:
    """Parse the JSON file at ``path``.

    Raises:
        InvalidParameterError: the file is missing or is not JSON (``what`` names the option).
    """
    file = Path(path)
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except OSError as error:
        raise InvalidParameterError(what, "a readable JSON file", f"{file} ({error.strerror})") from None
    except json.JSONDecodeError as error:
        raise InvalidParameterError(what, "a JSON file", f"{file}: {error}") from None


def read_optional_json(path: str | Path | None, what: str) -> Any | None:
    """:func:`read_json`, or None when ``path`` is None or does not exist."""
    if path is None or not Path(path).exists():
        return None
    return read_json(path, what)


# --------------------------------------------------------------------------- verification matrix
def matrix_section(mode: str = "fast") -> dict[str, Any]:
    """Evaluate the verification matrix in ``mode`` (see the module docstring) as JSON-ready rows.

    Returns ``{"available", "mode", "note", "columns", "rows": [{"id", "title", "cells": [{"text",
    "gap"}], "notes"}], "lean", "scan", "gaps", "seconds"}``.
    """
    if mode not in MATRIX_MODES:
        raise InvalidParameterError("matrix", f"one of {MATRIX_MODES}", repr(mode))
    try:
        # deferred: imports jsonschema only when this runs, not at module import
        from steering_core.formal import matrix
        from steering_core.formal.registry import load_registry

        registry = load_registry()
    except Exception as error:  # the formal layer is optional at report time
        return {"available": False, "reason": f"verification matrix unavailable: {type(error).__name__}: {error}"}
    start = time.monotonic()
    rows, lean = matrix.build_rows(registry, (), run_smt=mode != "fast", run_hypothesis=mode == "full")
    seconds = time.monotonic() - start
    rendered = matrix.render(rows, lean).splitlines()
    return {
        "available": True,
        "mode": mode,
        "note": MATRIX_NOTES[mode],
        "columns": list(matrix.COLUMNS),
        "rows": [
            {
                "id": row.prop.id,
                "title": row.prop.title,
                "cells": [{"text": c.text, "gap": c.gap} for c in row.cells],
                "notes": list(row.notes),
            }
            for row in rows
        ],
        "lean": rendered[-3] if len(rendered) >= 3 else "",
        "scan": rendered[-2] if len(rendered) >= 2 else "",
        "gaps": sum(r.gaps for r in rows),
        "seconds": round(seconds, 2),
    }


def check_matrix(data: Any, where: str = "matrix-json") -> dict[str, Any]:
    """Validate a recorded matrix section (the shape :func:`matrix_section` returns).

    Raises:
        InvalidParameterError: missing keys or malformed rows.
    """
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("rows"), list)
        or not isinstance(data.get("columns"), list)
    ):
        raise InvalidParameterError(where, "an object with 'columns' and 'rows' (report data/matrix.json)", "another")
    for i, row in enumerate(data["rows"]):
        cells = row.get("cells") if isinstance(row, dict) else None
        if not isinstance(cells, list) or len(cells) != len(data["columns"]) or "id" not in row:
            raise InvalidParameterError(f"{where}.rows[{i}]", "an id and one cell per column", repr(row)[:60])
    return {"available": True, "note": "recorded", **data}


# --------------------------------------------------------------------------- conjecture board
def board_section(
    loader: Callable[[], Any] | None = None, seed_loader: Callable[[], Any] | None = None
) -> dict[str, Any]:
    """The conjecture registry's rows (``steering_core.cprr.board_rows()``), or why they are unavailable.

    ``seed_rows`` holds the seed-vs-ours rows (``steering_core.cprr.seed_rows()``: every seed id with
    the seed's claim and status beside ours, what we find and why it differs); with an explicit
    ``loader`` only an explicit ``seed_loader`` supplies them.
    """
    if loader is None:
        from steering_core.cprr import board_rows, seed_rows  # deferred: the registry loads only for a report

        loader, seed_loader = board_rows, seed_rows
    try:
        rows = list(loader())
        seed = list(seed_loader()) if seed_loader is not None else []
    except Exception as error:  # a broken registry must not break the report
        return {
            "available": False,
            "reason": f"conjecture registry unreadable ({type(error).__name__}: {error})",
            "rows": [],
        }
    return {"available": True, "reason": "", "rows": [dict(r) for r in rows], "seed_rows": [dict(r) for r in seed]}


# --------------------------------------------------------------------------- conformance
def conformance_runs(folder: str | Path, required: bool = False) -> list[dict[str, Any]]:
    """Every ``steer conform`` record (``*.json`` with the conformance schema) in ``folder``, by backend.

    Raises:
        InvalidParameterError: ``required`` and ``folder`` is not a folder; a ``*.json`` there is
            not JSON.
    """
    root = Path(folder)
    if not root.is_dir():
        if required:
            raise InvalidParameterError("conformance", "a folder of steer conform records", str(root))
        return []
    runs = [read_json(path, "conformance") for path in sorted(root.glob("*.json"))]
    runs = [r for r in runs if isinstance(r, dict) and r.get("schema") == "steering-spec/conformance-v1"]
    return sorted(runs, key=lambda r: (str(r.get("backend")), str(r.get("model"))))


# --------------------------------------------------------------------------- certificates
def certificate_entry(path: str | Path, model: Any | None = None) -> dict[str, Any]:
    """Verify one certified vector file (offline checks; model checks too when ``model`` is given).

    Returns ``{"source", "ok", "signed", "results": [{"name", "status", "detail"}], "body",
    "digest", "rendered"}`` (``body``/``digest`` None when the file could not be read).
    """
    from steering_core.certify import verify_file  # deferred: torch, only when a report verifies a file

    report = verify_file(path, model=model)
    certified = report.certified
    return {
        "source": str(path),
        "ok": report.ok,
        "signed": report.signed,
        "results": [{"name": r.name, "status": r.status, "detail": r.detail} for r in report.results],
        "body": None if certified is None else certified.body,
        "digest": None if certified is None else certified.digest,
        "rendered": report.render(),
    }


# --------------------------------------------------------------------------- recorded files
def behaviour_parts(data: Any) -> dict[str, Any]:
    """The optional parts of a behaviour report: ``lens``, ``sweeps``, ``contracts``, ``parity``."""
    if not isinstance(data, dict):
        raise InvalidParameterError("behaviour", "a JSON object (the behaviour report)", type(data).__name__)
    lens = data.get("lens")
    by_style = data.get("lens_by_style")
    sweeps = data.get("sweeps")
    contracts = data.get("contracts")
    parity = data.get("parity")
    prompting = data.get("prompting")
    return {
        "lens": lens if isinstance(lens, dict) else None,
        "lens_by_style": [x for x in by_style if isinstance(x, dict)] if isinstance(by_style, list) else [],
        "sweeps": [s for s in sweeps if isinstance(s, dict)] if isinstance(sweeps, list) else [],
        "contracts": [c for c in contracts if isinstance(c, dict)] if isinstance(contracts, list) else [],
        "parity": [p for p in parity if isinstance(p, dict)] if isinstance(parity, list) else [],
        "prompting": [p for p in prompting if isinstance(p, dict)] if isinstance(prompting, list) else [],
        "model": data.get("model"),
        "created": data.get("created"),
    }


def style_metric(style: str | None) -> str:
    """The metric a style's behavioural contract is judged by (``words`` for terse)."""
    # deferred: imports numpy only when this runs, not at module import
    from contracts.style import CRITERIA

    criteria = CRITERIA.get(style or "")
    return str(criteria[0].metric) if criteria else "words"


def add_metric(sweep: dict[str, Any], name: str) -> bool:
    """Add the mean of metric ``name`` over each cell's and the baseline's answers, in place.

    Needs the answers (``SweepResult.to_dict()`` form) and :mod:`steering_core.behaviour.metrics`;
    returns whether the metric was added (``words`` needs nothing and returns True).
    """
    if name == "words":
        return True
    from steering_core.behaviour.metrics import metric  # deferred: report.cli imports this module at start-up

    fn = metric(name)
    baseline = sweep.get("baseline", {})
    groups: list[tuple[dict[str, Any], Sequence[str]]] = [(baseline, baseline.get("answers") or [])]
    groups += [(cell, cell.get("answers") or []) for cell in sweep.get("cells", [])]
    if any(not answers for _, answers in groups):
        return False
    for holder, answers in groups:
        holder.setdefault("metrics", {})[name] = sum(fn(a) for a in answers) / len(answers)
    return True


def code_version() -> dict[str, Any]:
    """``{"package": steering-spec version, "commit": git HEAD or None, "dirty": bool or None}``."""
    # deferred: imports torch only when this runs, not at module import
    from steering_core.certify.certificate import tool_version

    commit: str | None = None
    dirty: bool | None = None
    root = checkout_root()
    if root is None:  # installed outside a checkout: no commit to name
        return {"package": tool_version(), "commit": commit, "dirty": dirty}
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=False, timeout=10
        )
        if head.returncode == 0:
            commit = head.stdout.strip()
            status = subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=root,
                capture_output=True,
                text=True,
                check=False,
                timeout=10,
            )
            dirty = bool(status.stdout.strip()) if status.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        pass
    return {"package": tool_version(), "commit": commit, "dirty": dirty}
