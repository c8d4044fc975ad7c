"""Entry files: atomic, checked writes; the append-only rule against the file on disk and against git."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from steering_core.cprr import store
from steering_core.cprr.errors import AppendOnlyError, EntryError, UnknownConjectureError
from steering_core.cprr.lifecycle import Entry, append_evidence
from steering_core.cprr.registry_check import check_registry
from tests.cprr.conftest import NOW, fake_record

PASS = {"mean_abs_cos": 0.3}


def test_write_read_round_trip_and_no_temp_files(sv1: Entry, tmp_path: Path) -> None:
    path = store.write_entry(sv1, tmp_path)
    assert path == tmp_path / "H-SV-1.json"
    assert store.load_entry("H-SV-1", tmp_path) == sv1
    assert [p.name for p in tmp_path.iterdir()] == ["H-SV-1.json"]
    assert path.read_text(encoding="utf-8").endswith("}\n")


def test_append_only_extension_is_accepted_and_edits_are_refused(sv1: Entry, tmp_path: Path) -> None:
    store.write_entry(sv1, tmp_path)
    one = append_evidence(sv1, fake_record(sv1, PASS), NOW)
    store.write_entry(one, tmp_path)
    two = append_evidence(one, fake_record(one, PASS), NOW)
    store.write_entry(two, tmp_path)
    before = (tmp_path / "H-SV-1.json").read_bytes()
    # going back to an earlier version (history and evidence truncated) is refused
    with pytest.raises(AppendOnlyError, match="removed"):
        store.write_entry(one, tmp_path)
    # a consistent alternative history that rewrites an earlier record is refused too
    alternative = append_evidence(sv1, fake_record(sv1, {"mean_abs_cos": 0.5}), NOW)
    alternative = append_evidence(alternative, fake_record(alternative, PASS), NOW)
    with pytest.raises(AppendOnlyError, match="changed"):
        store.write_entry(alternative, tmp_path)
    # an inconsistent entry is refused before the append-only check
    lying = copy.deepcopy(one)
    lying["status"] = "confirmed"
    with pytest.raises(EntryError, match="evidence supports"):
        store.write_entry(lying, tmp_path / "fresh")
    assert (tmp_path / "H-SV-1.json").read_bytes() == before  # refused writes leave the file alone
    assert not list(tmp_path.glob(".*.tmp"))


def test_strict_parsing(tmp_path: Path) -> None:
    (tmp_path / "C-1.json").write_text('{"id": "C-1", "id": "C-2"}', encoding="utf-8")
    with pytest.raises(EntryError, match="duplicate key"):
        store.load_entry("C-1", tmp_path)
    (tmp_path / "C-2.json").write_text('{"x": NaN}', encoding="utf-8")
    with pytest.raises(EntryError, match="non-finite"):
        store.load_entry("C-2", tmp_path)
    with pytest.raises(UnknownConjectureError, match="known ids: C-1, C-2"):
        store.load_entry("C-99", tmp_path)


def test_id_order() -> None:
    ids = ["H-SV-1", "C-10", "C-2", "H-EX-1", "C-1"]
    assert sorted(ids, key=store.id_sort_key) == ["C-1", "C-2", "C-10", "H-EX-1", "H-SV-1"]


def _git(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
    )


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_check_against_git_catches_rewritten_and_deleted_entries(sv1: Entry, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    folder = repo / "spec" / "cprr"
    one = append_evidence(sv1, fake_record(sv1, PASS), NOW)
    store.write_entry(one, folder)
    other = copy.deepcopy(sv1)
    other["id"] = "H-SV-2"
    store.write_entry(other, folder)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "registry")
    assert check_registry(folder, against="HEAD") == []
    # rewrite history: replace the committed file by the bare pre-registration (consistent on its own)
    (folder / "H-SV-1.json").write_text(json.dumps(sv1, indent=2) + "\n", encoding="utf-8")
    (folder / "H-SV-2.json").unlink()
    problems = "\n".join(check_registry(folder, against="HEAD"))
    assert "H-SV-1.json: vs HEAD: history: 1 item(s) removed" in problems
    assert "H-SV-1.json: vs HEAD: evidence: 1 item(s) removed" in problems
    assert "H-SV-2.json: committed at HEAD but missing" in problems
    assert check_registry(folder, against=None) == []  # without git the rewrite is self-consistent
