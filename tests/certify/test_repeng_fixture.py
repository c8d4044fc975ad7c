"""Import a control vector written by the real repeng 0.4.0 (not an imitation of its format).

``tests/data/repeng-0.4.0-qwen2-tiny.gguf`` was produced by ``repeng.ControlVector.export_gguf``
(repeng==0.4.0, gguf==0.19.0) from three random unit directions of width 64 at layers 1-3; the
``.expected.npy`` file next to it holds those directions as repeng received them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from steering_core.certify.gguf_interop import read_control_vector, write_control_vector

DATA = Path(__file__).resolve().parents[1] / "data"
FIXTURE = DATA / "repeng-0.4.0-qwen2-tiny.gguf"


def test_real_repeng_export_imports_byte_for_byte() -> None:
    expected = np.load(str(FIXTURE) + ".expected.npy")
    parsed = read_control_vector(FIXTURE)
    assert parsed.model_hint == "qwen2"
    assert sorted(parsed.directions) == [1, 2, 3]
    for row, layer in enumerate((1, 2, 3)):
        got = parsed.directions[layer]
        assert got.dtype == torch.float32
        assert got.numpy().tobytes() == expected[row].tobytes()
    vector = parsed.to_steering_vector(num_layers=4)
    assert vector.hidden_size == 64 and vector.layer_indices == [1, 2, 3]


def test_reexport_round_trips_the_repeng_tensors_exactly(tmp_path: Path) -> None:
    parsed = read_control_vector(FIXTURE)
    out = write_control_vector(tmp_path / "again.gguf", parsed.directions, "qwen2")
    again = read_control_vector(out)
    for layer, tensor in parsed.directions.items():
        assert again.directions[layer].numpy().tobytes() == tensor.numpy().tobytes()
