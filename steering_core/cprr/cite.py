"""``steer cprr cite ID --format bibtex|cff|latex``: a citation that pins what is being cited.

Every format names: the project version (installed ``steering-spec``), the git commit of the
checkout (with ``+dirty`` when the entry's file differs from that commit, so the commit alone
would not reproduce the cited file), the entry's status, its decision rule, the last
conforming measured values and how many conforming runs agree, the protocol digest and the
evidence digest (head of the entry's hash-chained evidence; ``none`` before any run). For a
``proved`` entry it also names the spec property and its Lean theorems
(``steering_core/data/properties.toml`` ``links.lean``).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steering_core.cprr import CITATION_FORMATS, rules, store
from steering_core.cprr.errors import CprrError
from steering_core.cprr.evidence import code_version, project_version
from steering_core.cprr.lifecycle import conforming
from steering_core.cprr.proof import lean_theorems

FORMATS: tuple[str, ...] = CITATION_FORMATS
AUTHOR = "steering-spec developers"


@dataclass(frozen=True)
class CitationFacts:
    """Everything a citation states, gathered once for all formats."""

    entry_id: str
    kind: str
    title: str
    statement: str
    status: str
    version: str
    commit: str
    date: str
    rule: str
    values: str
    n_conforming: int
    protocol_sha256: str
    evidence_sha256: str
    proved_property: str | None
    theorems: tuple[str, ...]


def _file_dirty(path: Path) -> bool:
    try:
        proc = subprocess.run(
            ["git", "-C", str(path.parent), "status", "--porcelain", "--", path.name],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0 and bool(proc.stdout.strip())


def facts(entry_id: str, registry_dir: Path | None = None) -> CitationFacts:
    """Gather the facts of entry ``entry_id`` (see the module docstring)."""
    entry = store.load_entry(entry_id, registry_dir)
    code = code_version()
    commit = code["commit"] or "unknown"
    if code["commit"] and _file_dirty(store.entry_path(entry_id, registry_dir)):
        commit += "+dirty"
    records = conforming(entry["evidence"], entry["protocol"])
    rule = entry["protocol"]["decision_rule"]
    values = "no run yet"
    if records:
        measured = records[-1]["measured"]
        values = ", ".join(f"{m} = {measured[m]:.6g}" for m in rules.metrics(rule) if m in measured)
    dates = [e["date"] for e in entry["history"]] + [r["date"] for r in entry["evidence"]]
    proved = entry["proved_by"]["property"] if entry.get("proved_by") else None
    return CitationFacts(
        entry_id=entry["id"],
        kind=entry["kind"],
        title=entry["title"],
        statement=entry["statement"],
        status=entry["status"],
        version=project_version(),
        commit=commit,
        date=max(dates)[:10],
        rule=rules.describe(rule),
        values=values,
        n_conforming=len(records),
        protocol_sha256=entry["protocol_sha256"],
        evidence_sha256=entry["evidence_sha256"] or "none",
        proved_property=proved,
        theorems=tuple(lean_theorems(proved)) if proved else (),
    )


_LATEX = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}


def latex_escape(text: str) -> str:
    """``text`` with every LaTeX special character escaped."""
    return "".join(_LATEX.get(ch, ch) for ch in text)


def _summary(f: CitationFacts) -> str:
    parts = [
        f"Status: {f.status}.",
        f"Decision rule: {f.rule}; {f.values} ({f.n_conforming} conforming run(s)).",
    ]
    if f.proved_property:
        parts.append(f"Proved by spec property {f.proved_property} (Lean: {', '.join(f.theorems) or 'none linked'}).")
    parts.append(f"steering-spec {f.version}, commit {f.commit}.")
    parts.append(f"Protocol sha256:{f.protocol_sha256}; evidence sha256:{f.evidence_sha256}.")
    return " ".join(parts)


def bibtex(f: CitationFacts) -> str:
    """A ``@misc`` entry (LaTeX-escaped fields)."""
    fields = [
        ("title", "{" + latex_escape(f"{f.entry_id}: {f.title}") + "}"),
        ("author", "{" + latex_escape(AUTHOR) + "}"),
        ("year", f.date[:4]),
        ("howpublished", latex_escape(f"steering-spec {f.version}, conjecture registry (CPRR), entry {f.entry_id}")),
        ("version", latex_escape(f.version)),
        ("note", latex_escape(_summary(f))),
    ]
    body = ",\n".join(f"  {key} = {{{value}}}" for key, value in fields)
    return f"@misc{{steeringspec-cprr-{f.entry_id},\n{body}\n}}\n"


def _yaml(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid YAML double-quoted scalar


def cff(f: CitationFacts) -> str:
    """A CITATION.cff (CFF 1.2.0) document."""
    lines = [
        "cff-version: 1.2.0",
        f"message: {_yaml('If you use this result, please cite it as below.')}",
        "type: software",
        f"title: {_yaml(f'steering-spec CPRR {f.entry_id}: {f.title}')}",
        f"abstract: {_yaml(f.statement + ' ' + _summary(f))}",
        "authors:",
        f"  - name: {_yaml(AUTHOR)}",
        f"version: {_yaml(f.version)}",
        f"commit: {_yaml(f.commit)}",
        f"date-released: {_yaml(f.date)}",
        "license: Apache-2.0",
        "identifiers:",
        "  - type: other",
        f"    value: {_yaml('sha256:' + f.evidence_sha256)}",
        f"    description: {_yaml(f'evidence digest of {f.entry_id} (head of its hash-chained evidence records)')}",
        "  - type: other",
        f"    value: {_yaml('sha256:' + f.protocol_sha256)}",
        f"    description: {_yaml(f'protocol digest of {f.entry_id} (canonical JSON of the pre-registered protocol)')}",
        "keywords:",
        f"  - {_yaml('activation steering')}",
        f"  - {_yaml('status: ' + f.status)}",
    ]
    if f.proved_property:
        lines.append(f"  - {_yaml('property: ' + f.proved_property)}")
        lines += [f"  - {_yaml('lean: ' + t)}" for t in f.theorems]
    return "\n".join(lines) + "\n"


def latex(f: CitationFacts) -> str:
    """A LaTeX sentence (with ``\\texttt`` identifiers) stating the result and what pins it."""
    e = latex_escape
    sentence = (
        f"{f.kind.capitalize()}~\\texttt{{{e(f.entry_id)}}} (\\emph{{{e(f.title)}}}) is \\textbf{{{e(f.status)}}} "
        f"in steering-spec~{e(f.version)} (commit \\texttt{{{e(f.commit)}}}): decision rule "
        f"\\texttt{{{e(f.rule)}}}, measured {e(f.values)} in {f.n_conforming} conforming run(s)"
    )
    if f.proved_property:
        theorems = ", ".join(f"\\texttt{{{e(t)}}}" for t in f.theorems) or "none linked"
        sentence += f"; proved by property \\texttt{{{e(f.proved_property)}}} (Lean: {theorems})"
    sentence += (
        f"; protocol digest \\texttt{{sha256:{e(f.protocol_sha256)}}}, "
        f"evidence digest \\texttt{{sha256:{e(f.evidence_sha256)}}}."
    )
    return f"% steering-spec CPRR citation of {f.entry_id} (steer cprr cite {f.entry_id} --format latex)\n{sentence}\n"


def cite(entry_id: str, fmt: str, registry_dir: Path | None = None) -> str:
    """The citation of ``entry_id`` in format ``fmt`` (one of :data:`FORMATS`).

    Raises:
        CprrError: unknown format; UnknownConjectureError: unknown id.
    """
    if fmt not in FORMATS:
        raise CprrError(f"cite: format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    gathered = facts(entry_id, registry_dir)
    render: dict[str, Any] = {"bibtex": bibtex, "cff": cff, "latex": latex}
    return str(render[fmt](gathered))
