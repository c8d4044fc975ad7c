"""CITATION.cff cites the version that pyproject.toml declares, under the same license.

The full CFF 1.2.0 schema check was run once with ``cffconvert --validate`` (not a project
dependency); this test keeps the facts a paper relies on in step with the package.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def test_citation_matches_the_package() -> None:
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert citation["cff-version"] == "1.2.0"
    for key in ("message", "title", "authors", "abstract"):
        assert citation[key], key
    assert citation["version"] == project["version"]
    assert citation["license"] == project["license"]["text"]
