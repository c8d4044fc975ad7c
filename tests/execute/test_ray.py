"""The Ray executor on a local Ray instance (started once for this module, 4 logical CPUs on the
2-core machine, a small object store): the same records as the local executor, a worker killed
mid-cell, a resumed run, CPRR evidence from Ray cells, and ``steer sweep --executor ray``."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from steering_core.execute.cell import Cell, result_view
from steering_core.execute.driver import run_cells
from steering_core.execute.store import RecordStore
from tests.execute.conftest import PROMPTS, make_payload

ray = pytest.importorskip("ray", reason="the Ray executor needs the [ray] extra")

from steering_core.execute.ray_executor import RayExecutor  # noqa: E402


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[None]:
    ray.init(
        num_cpus=4,  # logical: the module's 2 workers plus 2 for the command-line test's own executor
        object_store_memory=100 * 1024 * 1024,
        include_dashboard=False,
        log_to_driver=False,
        logging_level="warning",
        runtime_env={"env_vars": {"TRANSFORMERS_VERBOSITY": "error", "HF_HUB_OFFLINE": "1"}},
    )
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def executor(ray_instance: None) -> Iterator[RayExecutor]:
    with RayExecutor(workers=2) as ex:
        yield ex


def test_ray_records_equal_local_records_cell_by_cell(
    executor: RayExecutor, grid: list[Cell], local_records: list[dict[str, Any]], tmp_path: Path
) -> None:
    with RecordStore(tmp_path / "ray.jsonl") as store:
        records = run_cells(grid, executor, store, progress=False)
    assert len(records) == len(local_records) == len(grid)
    for ours, theirs in zip(records, local_records, strict=True):
        assert result_view(ours) == result_view(theirs)
    assert len({r["token_ids"][0][0] for r in records}) > 1  # the grid is not trivially constant
    workers = {r["provenance"]["worker"] for r in records}
    assert workers == {"ray-0", "ray-1"}, "both workers ran cells"
    for record in records:
        prov = record["provenance"]
        assert prov["executor"] == "ray" and prov["attempt"] == 1 and prov["package_version"]
        assert prov["model"]["weights_sha256"] == local_records[0]["provenance"]["model"]["weights_sha256"]
    with RecordStore(tmp_path / "ray.jsonl") as again:  # the file holds exactly one record per cell
        assert set(again) == {c.digest() for c in grid}


def test_a_worker_killed_mid_cell_has_its_cell_retried_elsewhere(
    executor: RayExecutor, tiny_folder: str, tmp_path: Path
) -> None:
    payload = make_payload(seed=3)
    # long cells (2 batches of 160 tokens, about 1 s on one idle thread) so the kill lands while one runs
    cells = [Cell(tiny_folder, PROMPTS * 2, 160, payload, (1,), alpha, batch_size=4) for alpha in (0.5, 1.0, 1.5)]
    killed: dict[str, Any] = {}

    def kill_first(cell: Cell, worker_id: str) -> None:
        if not killed:
            killed.update(worker=worker_id, digest=cell.digest(), pid=executor.pids[worker_id])
            threading.Timer(0.4, os.kill, (executor.pids[worker_id], signal.SIGKILL)).start()

    deaths, retries = executor.deaths, executor.retries
    executor.on_dispatch = kill_first
    try:
        with RecordStore(tmp_path / "kill.jsonl") as store:
            records = run_cells(cells, executor, store, progress=False)
    finally:
        executor.on_dispatch = None
    assert executor.deaths == deaths + 1 and executor.retries > retries
    assert killed["worker"] not in executor.pids or killed["worker"] not in {r["provenance"]["worker"] for r in records}
    by_digest = {r["cell_sha256"]: r for r in records}
    retried = by_digest[killed["digest"]]
    assert retried["provenance"]["attempt"] == 2
    assert retried["provenance"]["worker"] != killed["worker"]
    assert retried["provenance"]["pid"] != killed["pid"]
    lines = (tmp_path / "kill.jsonl").read_text().splitlines()
    assert len(lines) == len(cells) == len({r["cell_sha256"] for r in records}), "nothing counted twice"
    # and the retried answers are the ones an undisturbed worker gives
    from steering_core.execute.local import LocalExecutor

    lost = next(c for c in cells if c.digest() == killed["digest"])
    (reference,) = run_cells([lost], LocalExecutor(), progress=False)
    assert result_view(reference) == result_view(retried)


def test_an_interrupted_run_resumes_and_skips_finished_cells(
    executor: RayExecutor, grid: list[Cell], local_records: list[dict[str, Any]], tmp_path: Path
) -> None:
    path = tmp_path / "resume.jsonl"

    class Interrupted(Exception):
        pass

    def log(message: str) -> None:
        if message.startswith("[4/"):
            raise Interrupted  # the driver dies after four records are on disk

    with pytest.raises(Interrupted), RecordStore(path) as store:
        run_cells(grid, executor, store, progress=False, log=log)
    with open(path, "ab") as handle:
        handle.write(b'{"cell_sha256": "torn')  # and its last write was cut short
    dispatched: list[str] = []
    executor.on_dispatch = lambda cell, worker: dispatched.append(cell.digest())
    try:
        with RecordStore(path) as store:
            assert len(store) == 4 and store.truncated_bytes > 0
            finished = set(store)
            records = run_cells(grid, executor, store, progress=False)
    finally:
        executor.on_dispatch = None
    assert len(dispatched) == len(grid) - 4 and not finished & set(dispatched)
    assert [result_view(r) for r in records] == [result_view(r) for r in local_records]
    assert len(path.read_text().splitlines()) == len(grid)


def test_a_cell_that_raises_is_not_retried(executor: RayExecutor, tmp_path: Path) -> None:
    from steering_core.execute.errors import CellFailedError

    missing = str(tmp_path / "no-such-model")
    with pytest.raises(CellFailedError, match="after 1 attempt"):
        run_cells([Cell(missing, ("q",), 2)], executor, progress=False)


def test_cprr_evidence_from_ray_cells_is_accepted_unchanged(
    executor: RayExecutor, tiny_folder: str, tmp_path: Path
) -> None:
    """A CPRR run whose generations ran on Ray workers appends a record the validator accepts,
    with the numbers of the in-process run."""
    from steering_core.cprr.registry_check import check_registry
    from steering_core.cprr.runners import RunContext
    from steering_core.execute.cli import Execution
    from steering_core.execute.cprr_context import ExecutorRunContext
    from steering_core.models import load_model
    from tests.execute.test_commands import PROBE_ID, run_cprr, tiny_registry

    loaded = load_model(tiny_folder)
    plain = run_cprr(PROBE_ID, tiny_registry(tmp_path / "a", tiny_folder), RunContext(loaded))
    with RecordStore(tmp_path / "cprr.jsonl") as store:
        context = ExecutorRunContext(loaded, execution=Execution(executor, store, progress=False))
        folder = tiny_registry(tmp_path / "b", tiny_folder)
        via = run_cprr(PROBE_ID, folder, context)
        assert store.records and all(r["provenance"]["executor"] == "ray" for r in store.records.values())
    assert check_registry(folder, against=None) == []
    assert via["measured"] == plain["measured"] and via["verdict"] == plain["verdict"]
    assert via["data"]["inputs_sha256"] == plain["data"]["inputs_sha256"]


def test_steer_sweep_on_ray_writes_what_the_local_sweep_writes(
    executor: RayExecutor, tiny_folder: str, tmp_path: Path
) -> None:
    import json

    from steering_core.cli import main

    common = ["sweep", "--model", tiny_folder, "--layers", "1,2", "--alphas", "0,0.5,4", "--n-prompts", "3"]
    common += ["--max-new-tokens", "4", "--no-progress"]
    assert main([*common, "--json", str(tmp_path / "local.json")]) == 0
    records = str(tmp_path / "sweep.jsonl")
    ray_args = ["--executor", "ray", "--workers", "2", "--records", records, "--json", str(tmp_path / "ray.json")]
    assert main([*common, *ray_args]) == 0
    local = json.loads((tmp_path / "local.json").read_text())
    remote = json.loads((tmp_path / "ray.json").read_text())
    assert local.pop("execution")["executor"] == "local" and remote.pop("execution")["workers"] == 2
    assert local == remote
    lines = Path(records).read_text().splitlines()
    assert len(lines) == 5  # baseline + 2 layers x 2 non-zero alphas, one prompt chunk each
