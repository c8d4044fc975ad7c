"""The HTML report built from recorded data only (no model): files, sections, links, atomic writes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from steering_core.errors import InvalidParameterError
from steering_core.report import ReportData, build_report
from steering_core.report.sources import board_section, check_matrix
from tests.report.helpers import DATA, assert_png, load

SECTIONS = [
    "summary",
    "anatomy",
    "phase",
    "heatmap",
    "basins",
    "lens",
    "board",
    "matrix",
    "conformance",
    "contracts",
    "certificates",
    "benchmarks",
]


def recorded() -> ReportData:
    """Every part from tests/report/data."""
    behaviour = load("behaviour.json")
    return ReportData(
        meta={
            "model": "qwen2.5-coder-0.5b-instruct",
            "style": "terse",
            "layer": 12,
            "alpha": 0.5,
            "created": "2026-01-01T00:00:00Z",
            "code_version": {"package": "0.1.0", "commit": "0" * 40, "dirty": False},
            "fingerprint": {"weights": "a" * 64, "config": "b" * 64},
            "notes": {"sweep": "recorded: tests/report/data/sweep.json"},
        },
        anatomy=load("anatomy.json"),
        sweep=load("sweep.json"),
        basins=load("basins.json"),
        lens=load("lens.json"),
        board=board_section(lambda: load("board.json")),
        matrix=check_matrix(load("matrix.json")),
        behaviour={"contracts": behaviour["contracts"], "parity": behaviour["parity"]},
        certificates=load("certificates.json"),
        bench=load("bench.json"),
        conformance=load("conformance.json"),
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_report(recorded(), tmp_path_factory.mktemp("r") / "report")


def test_layout_and_images(report: Path) -> None:
    root = report.parent
    html = report.read_text(encoding="utf-8")
    sources = re.findall(r'<img src="([^"]+)" width="(\d+)" height="(\d+)"', html)
    assert {Path(s).stem for s, _, _ in sources} == {"anatomy", "phase", "heatmap", "basins", "radar", "board"}
    for src, width, height in sources:
        assert not src.startswith(("/", "http")), "image links must be relative"
        assert_png(root / src, (int(width), int(height)))
        assert (root / src).with_suffix(".svg").is_file()
    assert sorted(p.name for p in (root / "data").iterdir()) == sorted(
        f"{p}.json"
        for p in (
            "meta",
            "anatomy",
            "sweep",
            "basins",
            "lens",
            "board",
            "matrix",
            "behaviour",
            "certificates",
            "bench",
            "conformance",
        )
    )


def test_sections_in_order_no_script_no_network(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    order = re.findall(r'<section id="([a-z]+)">', html)
    assert order == SECTIONS
    assert "<script" not in html.lower()
    assert not re.search(r'(src|href)="(https?:)?//', html), "no network references"
    assert "VERIFIED" in html and "tiny.safetensors" in html  # certificate
    assert "formality" in html and "PASS" not in html  # contracts rendered generically (yes/no)
    assert "hook overhead" in html  # benchmarks
    assert "P-unit-sphere" in html  # matrix
    assert "CF-batch-isolation" in html and "not supported" in html  # conformance: folded lacks mixed batches
    assert "hf-hook: conforms" in html


def test_rebuild_from_data_folder_is_identical(report: Path, tmp_path: Path) -> None:
    again = build_report(ReportData.read(report.parent / "data"), tmp_path / "again")
    assert again.read_text(encoding="utf-8") == report.read_text(encoding="utf-8")
    for png in (report.parent / "figures").glob("*.png"):
        assert (tmp_path / "again" / "figures" / png.name).read_bytes() == png.read_bytes()


def test_missing_parts_are_said_not_dropped(tmp_path: Path) -> None:
    data = ReportData(meta={"style": "terse", "layer": 12, "alpha": 0.5})
    data.set_note("sweep", "not run (--quick)")
    data.board = board_section(lambda: (_ for _ in ()).throw(RuntimeError("registry broken")))
    html = build_report(data, tmp_path / "r").read_text(encoding="utf-8")
    assert re.findall(r'<section id="([a-z]+)">', html) == SECTIONS[:9]
    assert "not run (--quick)" in html and "registry broken" in html
    assert "<img" not in html


def test_board_unavailable_when_module_lacks_rows() -> None:
    section = board_section(lambda: [{"id": "C1", "title": "t", "group": "g", "status": "open", "n_evidence": 0}])
    assert section["available"] and section["rows"][0]["id"] == "C1"


def test_replaces_an_earlier_report_but_refuses_other_folders(tmp_path: Path) -> None:
    data = ReportData(meta={"style": "terse"}, anatomy=load("anatomy.json"))
    out = tmp_path / "r"
    build_report(data, out)
    (out / "figures" / "stale.png").write_bytes(b"old")
    build_report(data, out)
    assert not (out / "figures" / "stale.png").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["r"], "no temporary folder left behind"
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(InvalidParameterError):
        build_report(data, other)
    assert (other / "notes.txt").read_text() == "keep me"


def test_failed_build_leaves_nothing(tmp_path: Path) -> None:
    data = ReportData(meta={"style": "terse"}, anatomy={"layers": []})  # malformed: refused while drawing
    with pytest.raises(InvalidParameterError):
        build_report(data, tmp_path / "r")
    assert list(tmp_path.iterdir()) == []


def test_recorded_matrix_is_checked() -> None:
    with pytest.raises(InvalidParameterError):
        check_matrix({"rows": [{"id": "P", "cells": []}], "columns": ["Lean"]})
    assert check_matrix(load("matrix.json"))["available"]


def test_data_folder_needs_meta(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError):
        ReportData.read(tmp_path)
    assert DATA.is_dir()
