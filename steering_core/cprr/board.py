"""``steer cprr board``: the registry at a glance (status, evidence count, last verdict and values).

:func:`board_rows` is the data (also used by the report's plots); :func:`render_board` the table.
The board shows what the files say; ``steer cprr check`` is what proves the files consistent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from steering_core.cprr import rules, store

BOARD_KEYS: tuple[str, ...] = ("id", "title", "group", "status", "n_evidence", "last_verdict", "last_date")


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
    return "\n".join(lines)
