"""``steer cprr board``: the registry at a glance (status, evidence count, last verdict and values).

:func:`board_rows` is the data (also used by the report's plots); :func:`render_board` the table,
followed by the seed-vs-ours table (:func:`seed_rows`, :func:`render_seed_table`): every seed id
with the seed's claim and status beside ours. The board shows what the files say; ``steer cprr
check`` is what proves the files consistent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from steering_core.cprr import rules, store
from steering_core.cprr.lifecycle import conforming

BOARD_KEYS: tuple[str, ...] = ("id", "title", "group", "status", "n_evidence", "last_verdict", "last_date")
SEED_KEYS: tuple[str, ...] = (
    "id",
    "seed_title",
    "seed_status",
    "status",
    "agreement",
    "n_conforming",
    "renamed_to",
    "we_find",
    "why_they_differ",
)


def board_rows(registry_dir: Path | None = None) -> list[dict[str, object]]:
    """One row per entry, in id order, with exactly the keys of :data:`BOARD_KEYS`.

    ``n_evidence`` counts every record; ``last_verdict``/``last_date`` are those of the last
    record (``None`` when there is none).
    """
    rows: list[dict[str, object]] = []
    for entry in store.load_entries(registry_dir):
        evidence = entry.get("evidence", [])
        last = evidence[-1] if evidence else None
        rows.append(
            {
                "id": entry["id"],
                "title": entry["title"],
                "group": entry["group"],
                "status": entry["status"],
                "n_evidence": len(evidence),
                "last_verdict": last["verdict"] if last else None,
                "last_date": last["date"] if last else None,
            }
        )
    return rows


def agreement(seed_status: str, status: str) -> str:
    """``agree``, ``disagree`` or ``pending`` (ours open/testing, or the seed's open) for a seed id."""
    if seed_status in ("confirmed", "refuted") and status in ("confirmed", "refuted"):
        return "agree" if seed_status == status else "disagree"
    if seed_status == "open" and status in ("confirmed", "refuted"):
        return "seed open"
    return "pending"


def seed_rows(registry_dir: Path | None = None) -> list[dict[str, object]]:
    """One row per entry that carries the seed's text (``seed`` block), with exactly the keys of :data:`SEED_KEYS`.

    ``status`` is ours (derived from the recorded runs under the seed's protocol); ``n_conforming``
    counts those runs; ``renamed_to`` names the id under which the project's earlier claim for this
    id continues (``None`` when the id never meant anything else).
    """
    rows: list[dict[str, object]] = []
    for entry in store.load_entries(registry_dir):
        seed = entry.get("seed")
        if not isinstance(seed, dict):
            continue
        renamed = [
            e["details"]["renamed_to"]
            for e in entry["history"]
            if e.get("event") == "amend" and "renamed_to" in e.get("details", {})
        ]
        rows.append(
            {
                "id": entry["id"],
                "seed_title": seed["title"],
                "seed_status": seed["status"],
                "status": entry["status"],
                "agreement": agreement(str(seed["status"]), str(entry["status"])),
                "n_conforming": len(conforming(entry["evidence"], entry["protocol"])),
                "renamed_to": renamed[-1] if renamed else None,
                "we_find": seed["we_find"],
                "why_they_differ": seed["why_they_differ"],
            }
        )
    return rows


def render_seed_table(registry_dir: Path | None = None, title_width: int = 60) -> str:
    """The seed-vs-ours table: seed id, the seed's claim, its status and ours, agreement, runs, former claim."""
    header = ["id", "the seed's claim", "seed", "ours", "", "runs", "earlier claim now"]
    table = [
        [
            str(r["id"]),
            _short(str(r["seed_title"]), title_width),
            str(r["seed_status"]),
            str(r["status"]),
            str(r["agreement"]),
            str(r["n_conforming"]),
            str(r["renamed_to"] or "-"),
        ]
        for r in seed_rows(registry_dir)
    ]
    if not table:
        return "no entry carries the seed's text"
    widths = [max(len(r[i]) for r in [header, *table]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in table]
    return "\n".join(lines)


def _last_values(entry: dict[str, Any]) -> str:
    evidence = entry.get("evidence", [])
    if not evidence:
        return rules.describe(entry["protocol"]["decision_rule"])
    record = evidence[-1]
    measured = record["measured"]
    return ", ".join(f"{m}={measured[m]:.4g}" for m in rules.metrics(record["decision_rule"]) if m in measured)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def render_board(registry_dir: Path | None = None, title_width: int = 46) -> str:
    """The board as a fixed-width table: id, group, title, status, n, last verdict, last date, rule values."""
    entries = {e["id"]: e for e in store.load_entries(registry_dir)}
    header = ["id", "group", "title", "status", "n", "verdict", "date", "last values (or rule)"]
    table = []
    for row in board_rows(registry_dir):
        entry = entries[str(row["id"])]
        table.append(
            [
                str(row["id"]),
                str(row["group"]),
                _short(str(row["title"]), title_width),
                str(row["status"]),
                str(row["n_evidence"]),
                str(row["last_verdict"] or "-"),
                str(row["last_date"] or "-")[:10],
                _last_values(entry),
            ]
        )
    widths = [max(len(r[i]) for r in [header, *table]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in table]
    counts: dict[str, int] = {}
    for r in table:
        counts[r[3]] = counts.get(r[3], 0) + 1
    lines.append("")
    lines.append(f"{len(table)} entries: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    seed = seed_rows(registry_dir)
    if seed:
        lines += ["", "The seed's conjectures (aygp-dr/qwen3-steering, Qwen3-0.6B) under their own ids: seed vs ours"]
        lines.append(render_seed_table(registry_dir))
    return "\n".join(lines)
