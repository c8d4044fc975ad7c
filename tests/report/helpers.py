"""Shared helpers of the report tests: recorded inputs and image validation."""

from __future__ import annotations

import json
import struct
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).parent / "data"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# figure name -> recorded data file (tests/report/data)
RECORDED: dict[str, str] = {
    "anatomy": "anatomy.json",
    "phase": "sweep.json",
    "heatmap": "sweep.json",
    "basins": "basins.json",
    "radar": "lens.json",
    "board": "board.json",
}


def load(name: str) -> Any:
    """A recorded JSON input."""
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def png_size(blob: bytes) -> tuple[int, int]:
    """``(width, height)`` from a PNG's IHDR chunk; asserts the signature and chunk order."""
    assert blob[:8] == PNG_MAGIC, "not a PNG signature"
    assert blob[12:16] == b"IHDR", "first chunk is not IHDR"
    width, height = struct.unpack(">II", blob[16:24])
    return int(width), int(height)


def assert_png(path: Path, expected: tuple[int, int]) -> None:
    """A valid PNG of exactly ``expected`` pixels that is not a single colour."""
    from matplotlib.image import imread

    blob = path.read_bytes()
    assert png_size(blob) == expected
    assert blob.endswith(b"IEND\xaeB`\x82"), "PNG not terminated by IEND"
    pixels = imread(path)
    assert pixels.shape[:2] == (expected[1], expected[0])
    flat = pixels.reshape(-1, pixels.shape[-1])
    assert len(np.unique(flat[:: max(1, len(flat) // 20000)], axis=0)) > 8, "image is (nearly) one colour"


def assert_svg(path: Path) -> None:
    """An SVG document that parses as XML, with drawing content and no timestamp."""
    text = path.read_text(encoding="utf-8")
    root = ET.fromstring(text)
    assert root.tag.endswith("svg")
    assert len(list(root.iter())) > 50
    assert "<dc:date>" not in text
