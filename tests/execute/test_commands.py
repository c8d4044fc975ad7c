"""The commands' grids through the execution layer give what the in-process code gives (local executor).

The Ray versions of the same checks are in test_ray.py (one Ray instance per module).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from steering_core.execute.cli import execution


@pytest.fixture(scope="module")
def loaded(tiny_folder: str) -> Any:
    from steering_core.models import load_model

    return load_model(tiny_folder)


def run_cprr(entry_id: str, folder: Path, context: Any) -> dict[str, Any]:
    """Run ``entry_id`` of the registry ``folder`` in ``context``; return the appended evidence record."""
    from steering_core.cprr import store
    from steering_core.cprr.engine import run_entry

    outcome = run_entry(entry_id, folder, context)
    assert outcome.appended
    return dict(store.load_entry(entry_id, folder)["evidence"][-1])


PROBE_ID = "C-98"  # a test-only entry: the registry's own runners change with their protocols


def probe_runner(ctx: Any, protocol: dict[str, Any]) -> dict[str, Any]:
    """Baseline, then ratio-matched steering at rising ratios until the first degenerate answer."""
    from steering_core.text import is_degenerate, word_count

    prompts = ctx.prompts(protocol)
    (layer,) = ctx.check_layers(protocol["layers"])
    vector = ctx.vector("terse")
    median = {n.layer: n.median_norm for n in ctx.residual_norms(prompts)}[layer]
    tokens = int(protocol["max_new_tokens"])
    baseline = ctx.generate(prompts, tokens)
    words, collapse = [], 99.0
    for ratio in (0.25, 1.0, 4.0, 16.0):
        answers = ctx.steered(vector, ratio * median / vector.norm(layer), layer, prompts, tokens)
        words.append(sum(word_count(a) for a in answers) / len(answers))
        if any(is_degenerate(a) for a in answers):
            collapse = ratio
            break
    return {"collapse_ratio": collapse, "words": words, "baseline_words": sum(map(word_count, baseline))}


def tiny_registry(tmp_path: Path, model: str) -> Path:
    """A registry folder holding one entry, :data:`PROBE_ID`, whose runner is :func:`probe_runner`."""
    import copy

    from steering_core.cprr import store
    from steering_core.cprr.lifecycle import new_entry
    from steering_core.cprr.runners import RUNNERS, Runner, load_runners

    load_runners()
    RUNNERS[PROBE_ID] = Runner(PROBE_ID, probe_runner, False)
    source = store.load_entry("C-4")
    protocol = copy.deepcopy(source["protocol"])
    protocol.update(model=model, layers=[2], max_new_tokens=6, params={})
    protocol["prompt_set"]["n_prompts"] = 3
    protocol["decision_rule"] = {"metric": "collapse_ratio", "op": ">", "threshold": 1.0}
    entry = new_entry(
        PROBE_ID, source["kind"], source["group"], source["title"], source["statement"], source["origin"], protocol
    )
    folder = tmp_path / "registry"
    store.write_entry(entry, folder)
    return folder


def test_cprr_run_through_cells_measures_what_the_in_process_run_measures(
    loaded: Any, tiny_folder: str, tmp_path: Path
) -> None:
    from steering_core.cprr.registry_check import check_registry
    from steering_core.cprr.runners import RunContext
    from steering_core.execute.cprr_context import ExecutorRunContext

    plain = run_cprr(PROBE_ID, tiny_registry(tmp_path / "a", tiny_folder), RunContext(loaded))
    with execution("local", loaded=[loaded], progress=False) as ctx:
        context = ExecutorRunContext(loaded, execution=ctx)
        folder = tiny_registry(tmp_path / "b", tiny_folder)
        via = run_cprr(PROBE_ID, folder, context)
        assert len(ctx.store) > 0, "the generations ran as cells"
    assert via["measured"] == plain["measured"]
    assert via["data"]["inputs_sha256"] == plain["data"]["inputs_sha256"]
    assert check_registry(folder, against=None) == []


def test_behaviour_run_through_cells_equals_in_process(loaded: Any) -> None:
    from steering_core.behaviour.run import RunConfig, run_behaviour
    from steering_core.behaviour.session import Session
    from tests.behaviour.test_run_tiny import _calibration

    config = RunConfig(styles=["terse"], max_new_tokens=3, parity=True, lens=False)
    plain = run_behaviour(config, calibration=_calibration(), session=Session(loaded, 3, batch_size=4))
    with execution("local", loaded=[loaded], progress=False) as ctx:
        session = Session(loaded, 3, batch_size=4, execution=ctx)
        via = run_behaviour(config, calibration=_calibration(), session=session)
        assert len(ctx.store) > 0
    a, b = plain.to_dict(), via.to_dict()
    for key in ("contracts", "answers", "parity", "baseline_answers"):
        assert a[key] == b[key], key


def test_certify_sweep_through_cells_equals_in_process(loaded: Any) -> None:
    from steering_core.certify.measure import Protocol, sweep
    from tests.execute.conftest import make_payload

    vector = make_payload().to_vector()
    protocol = Protocol(behaviour_prompts=3, max_new_tokens=4, alphas=(0.5, 4.0), batch_size=2)
    plain = sweep(loaded.model, loaded.tokenizer, vector, protocol)
    with execution("local", loaded=[loaded], progress=False) as ctx:
        via = sweep(loaded.model, loaded.tokenizer, vector, protocol, execution=ctx, loaded=loaded)
    assert via == plain


def test_ray_address_needs_the_ray_executor() -> None:
    from steering_core.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="ray_address"), execution("local", ray_address="auto"):
        pass
