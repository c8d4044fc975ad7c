"""Citations name the project version, the commit, the evidence digest and, for proved entries, the proof."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from steering_core.cprr import store
from steering_core.cprr.cite import cite, facts
from steering_core.cprr.errors import CprrError
from steering_core.cprr.evidence import project_version
from steering_core.cprr.lifecycle import Entry, append_evidence
from tests.cprr.conftest import NOW, fake_record


@pytest.fixture
def confirmed(sv1: Entry, tmp_path: Path) -> Path:
    entry = append_evidence(sv1, fake_record(sv1, {"mean_abs_cos": 0.3}), NOW)
    entry = append_evidence(entry, fake_record(entry, {"mean_abs_cos": 0.3}), NOW)
    store.write_entry(entry, tmp_path)
    return tmp_path


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text.replace(r"\{", "").replace(r"\}", ""):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def test_bibtex(confirmed: Path) -> None:
    text = cite("H-SV-1", "bibtex", confirmed)
    entry = store.load_entry("H-SV-1", confirmed)
    match = re.fullmatch(r"@misc\{([\w:-]+),\n((?:  \w+ = \{.*\},?\n)+)\}\n", text)
    assert match, text
    assert match.group(1) == "steeringspec-cprr-H-SV-1"
    fields = dict(re.findall(r"  (\w+) = \{(.*)\},?\n", match.group(2)))
    assert set(fields) >= {"title", "author", "year", "howpublished", "version", "note"}
    assert all(_balanced(v) for v in fields.values())
    assert f"steering-spec {project_version()}" in fields["howpublished"]
    assert entry["evidence_sha256"] in fields["note"] and "Status: confirmed" in fields["note"]
    assert r"mean\_abs\_cos" in fields["note"]  # LaTeX-escaped
    assert re.search(r"commit ([0-9a-f]{40}|unknown)", fields["note"])


def test_cff_is_yaml_with_the_required_keys(confirmed: Path) -> None:
    yaml = pytest.importorskip("yaml")
    data = yaml.safe_load(cite("H-SV-1", "cff", confirmed))
    assert data["cff-version"] == "1.2.0"
    assert {"message", "title", "authors", "version", "commit", "identifiers"} <= set(data)
    assert data["authors"][0]["name"]
    entry = store.load_entry("H-SV-1", confirmed)
    assert {"type": "other", "value": "sha256:" + entry["evidence_sha256"]} in [
        {k: i[k] for k in ("type", "value")} for i in data["identifiers"]
    ]
    assert data["version"] == project_version()


def test_latex(confirmed: Path) -> None:
    text = cite("H-SV-1", "latex", confirmed)
    assert r"\texttt{H-SV-1}" in text and r"\textbf{confirmed}" in text
    assert r"mean\_abs\_cos \textgreater{} 0.15" in text
    assert store.load_entry("H-SV-1", confirmed)["evidence_sha256"] in text
    assert _balanced(text)


def test_proved_entry_names_property_and_theorems() -> None:
    """The committed H-PR-1 entry is proved by a spec property; its citation says which and by what."""
    gathered = facts("H-PR-1")
    assert gathered.status == "proved" and gathered.proved_property == "P-ratio-scale-invariance"
    assert "SteeringSpec.ratio_smul" in gathered.theorems
    for fmt in ("bibtex", "cff", "latex"):
        text = cite("H-PR-1", fmt)
        assert "P-ratio-scale-invariance" in text and "ratio" in text and "smul" in text


def test_open_entry_and_bad_format(sv1: Entry, tmp_path: Path) -> None:
    store.write_entry(sv1, tmp_path)
    assert "evidence sha256:none" in cite("H-SV-1", "bibtex", tmp_path)
    with pytest.raises(CprrError, match="format must be one of"):
        cite("H-SV-1", "ris", tmp_path)
