"""A small grid on the embedded real model (Qwen2.5-Coder-0.5B-Instruct): Ray records equal the
local ones cell by cell. Slow (each Ray worker loads its own copy of the model); also ``ci``."""

from __future__ import annotations

import pytest

from steering_core.execute.cell import result_view
from steering_core.execute.driver import run_cells

ray = pytest.importorskip("ray", reason="the Ray executor needs the [ray] extra")

pytestmark = pytest.mark.slow


@pytest.mark.ci
def test_real_model_grid_is_the_same_on_ray_and_locally() -> None:
    from steering_core.execute.cell import VectorPayload
    from steering_core.execute.grids import answer_cells
    from steering_core.execute.local import LocalExecutor
    from steering_core.execute.ray_executor import RayExecutor
    from steering_core.extract import extract
    from steering_core.models import load_model
    from steering_core.prompt_sets import prompt_set

    loaded = load_model()
    payload = VectorPayload.from_vector(extract(loaded, style="terse", layers=[12]))
    prompts = prompt_set()[:2]
    cells = answer_cells(loaded, prompts, 8, batch_size=2)
    for alpha in (0.5, 2.0):  # effective and collapsing at layer 12
        cells += answer_cells(loaded, prompts, 8, payload, (12,), alpha, "all", 2)
    local = run_cells(cells, LocalExecutor([loaded]), progress=False)
    del loaded
    ray.init(num_cpus=2, object_store_memory=100 * 1024 * 1024, include_dashboard=False, log_to_driver=False)
    try:
        with RayExecutor(workers=2) as executor:
            remote = run_cells(cells, executor, progress=False)
    finally:
        ray.shutdown()
    assert [result_view(r) for r in remote] == [result_view(r) for r in local]
    assert local[2]["token_ids"] != local[0]["token_ids"], "steering at alpha 2 changed the greedy tokens"
    assert {r["provenance"]["executor"] for r in remote} == {"ray"}
    assert remote[0]["provenance"]["model"]["weights_sha256"] == local[0]["provenance"]["model"]["weights_sha256"]
