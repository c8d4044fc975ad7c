"""Compiled mode: vLLM's torch.compile graph never calls Python forward hooks, so steering would be
silently dropped. The start-up probe must see that and refuse to steer (runs last: it compiles)."""

from __future__ import annotations

import pytest

from steering_core.models import LoadedModel

pytestmark = [pytest.mark.vllm, pytest.mark.slow]


def test_engine_refuses_to_steer_when_hooks_do_not_run(smol: LoadedModel) -> None:
    from steering_core.vllm.engine import SteeredLLM, SteeringUnavailableError

    engine = None
    try:
        with pytest.raises(SteeringUnavailableError, match="probe"):
            engine = SteeredLLM(smol, enforce_eager=False, max_model_len=256, max_num_seqs=4)
    finally:
        if engine is not None:
            engine.close()
