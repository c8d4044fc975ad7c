"""Cells, digests, records and the append-only record file (no Ray needed)."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from steering_core.execute.cell import Cell, VectorPayload, record_problems, result_view
from steering_core.execute.driver import run_cells
from steering_core.execute.errors import CellError, RecordFileError
from steering_core.execute.local import LocalExecutor
from steering_core.execute.store import RecordStore
from tests.execute.conftest import PROMPTS, make_payload


def test_digest_is_stable_and_covers_every_field() -> None:
    payload = make_payload()
    cell = Cell("m", PROMPTS[:2], 8, payload, (1,), 0.5)
    assert cell.digest() == Cell("m", list(PROMPTS[:2]), 8, payload, [1], 0.5).digest()  # type: ignore[arg-type]
    variants = [
        replace(cell, model="other"),
        replace(cell, prompts=PROMPTS[:3]),
        replace(cell, max_new_tokens=9),
        replace(cell, layers=(2,)),
        replace(cell, alpha=0.25),
        replace(cell, positions="prompt"),
        replace(cell, batch_size=1),
        replace(cell, chat=False),
        replace(cell, dtype="bfloat16"),
        replace(cell, vector=make_payload(seed=1)),
    ]
    digests = {v.digest() for v in variants} | {cell.digest()}
    assert len(digests) == len(variants) + 1


def test_payload_round_trip_is_bit_exact() -> None:
    payload = make_payload()
    vector = payload.to_vector()
    again = VectorPayload.from_vector(vector, payload.recipe)
    assert again.data == payload.data and again.sha256 == payload.sha256
    assert vector.layer_indices == [1, 2]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"model": ""}, "model"),
        ({"prompts": ()}, "prompts"),
        ({"prompts": ("ok", 3)}, "prompts"),
        ({"max_new_tokens": 0}, "max_new_tokens"),
        ({"max_new_tokens": True}, "max_new_tokens"),
        ({"batch_size": 0}, "batch_size"),
        ({"alpha": math.nan}, "alpha"),
        ({"alpha": math.inf}, "alpha"),
        ({"positions": "middle"}, "positions"),
        ({"dtype": "int8"}, "dtype"),
        ({"layers": (7,)}, "layers"),
    ],
)
def test_bad_cells_are_refused_naming_the_field(change: dict[str, Any], field: str) -> None:
    base: dict[str, Any] = {"model": "m", "prompts": ("q",), "max_new_tokens": 4, "vector": make_payload()}
    base["alpha"] = 1.0
    with pytest.raises(CellError) as info:
        Cell(**{**base, **change})
    assert info.value.field == field


def test_unsteered_cell_takes_no_alpha_and_payload_checks_its_bytes() -> None:
    with pytest.raises(CellError, match="vector"):
        Cell("m", ("q",), 4, None, (), 0.5)
    with pytest.raises(CellError, match=r"vector\.data"):
        VectorPayload((1,), 4, b"\x00" * 15)
    with pytest.raises(CellError, match="finite"):
        VectorPayload((1,), 1, b"\x00\x00\xc0\x7f")  # NaN


def _record(cell: Cell, answer: str = "a") -> dict[str, Any]:
    from steering_core.execute.cell import make_record

    prov = {"executor": "local", "worker": "w", "package_version": "0", "attempt": 1}
    n = len(cell.prompts)
    return make_record(cell, [answer] * n, [[1, 2]] * n, prov, 0.1, "2026-01-01T00:00:00Z")


def test_record_problems_catch_edits() -> None:
    cell = Cell("m", ("q",), 4)
    record = _record(cell)
    assert record_problems(record) == []
    edited = json.loads(json.dumps(record))
    edited["cell"]["decoding"]["max_new_tokens"] = 5
    assert any("digest" in p for p in record_problems(edited))
    short = {**record, "answers": []}
    assert record_problems(short)
    assert record_problems({**record, "provenance": {}})


def test_store_appends_resumes_and_cuts_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    cells = [Cell("m", (f"q{i}",), 4) for i in range(3)]
    with RecordStore(path) as store:
        assert store.add(_record(cells[0]))
        assert store.add(_record(cells[1]))
        assert not store.add(_record(cells[1], "other"))  # a digest is stored once
    with open(path, "ab") as handle:
        handle.write(b'{"schema": "steering-spec/cell-rec')  # a write interrupted mid-line
    with RecordStore(path) as store:
        assert store.truncated_bytes > 0
        assert set(store) == {cells[0].digest(), cells[1].digest()}
        assert store.add(_record(cells[2]))
    lines = path.read_bytes().splitlines()
    assert len(lines) == 3 and all(json.loads(line)["cell_sha256"] for line in lines)


def test_store_refuses_corruption_duplicates_and_a_second_run(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    cell = Cell("m", ("q",), 4)
    line = json.dumps(_record(cell)).encode() + b"\n"
    path.write_bytes(b"not json\n" + line)
    with pytest.raises(RecordFileError, match=r"r.jsonl:1"):
        RecordStore(path)
    path.write_bytes(line + line)
    with pytest.raises(RecordFileError, match="second record"):
        RecordStore(path)
    path.write_bytes(line)
    with RecordStore(path), pytest.raises(RecordFileError, match="another run"):
        RecordStore(path)
    with RecordStore(path) as store:  # the lock is released on close
        assert cell.digest() in store


def test_local_grid_equals_the_in_process_sweep(tiny_folder: str) -> None:
    """The local executor is today's behaviour: sweep_grid == alpha_sweep on the same model."""
    from steering_core.diagnose import LayerNorms
    from steering_core.execute.cli import execution
    from steering_core.execute.grids import sweep_grid
    from steering_core.models import load_model
    from steering_core.sweep import alpha_sweep

    loaded = load_model(tiny_folder)
    vector = make_payload().to_vector()
    norms = [LayerNorms(layer=1, median_norm=10.0, mean_norm=10.0, first_token_norm=10.0, spread=1.0, n_positions=10)]
    args = (vector, [1], [0.0, 0.5, 6.0], list(PROMPTS), norms, 6)
    direct = alpha_sweep(loaded, *args, batch_size=2)
    with execution("local", loaded=[loaded], progress=False) as ctx:
        via = sweep_grid(ctx, loaded, *args, batch_size=2)
    assert via.to_dict() == direct.to_dict()


def test_driver_runs_each_digest_once_and_returns_input_order(tiny_folder: str) -> None:
    cells = [Cell(tiny_folder, ("a", "b"), 3), Cell(tiny_folder, ("c",), 3)]
    executor = LocalExecutor()
    records = run_cells([cells[1], cells[0], cells[1]], executor, progress=False)
    assert [r["cell_sha256"] for r in records] == [cells[1].digest(), cells[0].digest(), cells[1].digest()]
    assert executor.worker.cells_run == 2
    assert result_view(records[0]) == result_view(records[2])
