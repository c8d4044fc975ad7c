"""Open the report in headless Chromium and check that every image loads.

Skipped when no Chromium is installed, unless ``STEERING_REQUIRE_BROWSER=1`` (then it fails):
install it with ``scripts/install_chromium.sh``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from steering_core.report import build_report
from steering_core.report.browser import check_images, find_chromium
from tests.report.test_report import recorded

REQUIRED = os.environ.get("STEERING_REQUIRE_BROWSER") == "1"


@pytest.fixture(scope="module")
def chromium() -> str:
    exe = find_chromium()
    if exe is None:
        if REQUIRED:
            pytest.fail("STEERING_REQUIRE_BROWSER=1 but no Chromium found (run scripts/install_chromium.sh)")
        pytest.skip("no Chromium installed (scripts/install_chromium.sh; STEERING_REQUIRE_BROWSER=1 to require it)")
    return exe


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_report(recorded(), tmp_path_factory.mktemp("b") / "report")


def test_every_image_loads(chromium: str, page: Path) -> None:
    images = check_images(page, chromium)
    assert len(images) == 6
    assert all(i.loaded for i in images), [i for i in images if not i.loaded]
    assert {(i.width, i.height) for i in images} >= {(1000, 700), (900, 550)}


def test_missing_and_corrupt_images_are_detected(chromium: str, page: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    html = page.read_text(encoding="utf-8")
    (broken / "index.html").write_text(html, encoding="utf-8")
    (broken / "figures").mkdir()
    for png in (page.parent / "figures").glob("*.png"):
        if png.name == "anatomy.png":
            continue  # missing
        blob = png.read_bytes()
        (broken / "figures" / png.name).write_bytes(b"not a png" * 50 if png.name == "radar.png" else blob)
    images = {Path(i.src).name: i for i in check_images(broken / "index.html", chromium)}
    assert not images["anatomy.png"].loaded
    assert not images["radar.png"].loaded
    assert images["phase.png"].loaded
