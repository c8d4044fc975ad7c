"""One SweepGrid, two paths: the in-process sweep and the cell grid give the same result.

Run on the tiny model with a non-default ``positions`` (which the grid carries to both paths),
and with the grid object against the flat spelling of the same parameters.
"""

from __future__ import annotations

from typing import Any

from steering_core.diagnose import LayerNorms
from tests.execute.conftest import PROMPTS, make_payload


def test_one_grid_gives_one_result_on_both_paths(tiny_folder: str) -> None:
    from steering_core.execute.cli import execution
    from steering_core.execute.grids import sweep_grid
    from steering_core.models import load_model
    from steering_core.sweep import SweepGrid, alpha_sweep

    loaded = load_model(tiny_folder)
    vector = make_payload().to_vector()
    norms = [
        LayerNorms(layer=x, median_norm=10.0, mean_norm=10.0, first_token_norm=10.0, spread=1.0, n_positions=10)
        for x in (1, 2)
    ]
    flat: dict[str, Any] = {
        "layers": [2],
        "alphas": [0.0, 6.0],
        "prompts": list(PROMPTS),
        "norms": norms,
        "max_new_tokens": 5,
    }
    grid = SweepGrid(vector=vector, batch_size=2, positions="prompt", **flat)
    seen: list[object] = []
    direct = alpha_sweep(loaded, grid, on_cell=seen.append)
    with execution("local", loaded=[loaded], progress=False) as ctx:
        via = sweep_grid(ctx, loaded, grid)
        via_flat = sweep_grid(ctx, loaded, vector, batch_size=2, positions="prompt", **flat)
    assert via.to_dict() == direct.to_dict() == via_flat.to_dict()
    assert seen == direct.cells and [(c.layer, c.alpha) for c in direct.cells] == grid.points
