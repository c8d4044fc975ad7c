"""Runtime contracts: attached to the ops, typed errors, the switch, safe mode, hook leaks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import deal
import pytest
import torch
from torch import nn

from contracts import api
from steering_core import ops
from steering_core.errors import (
    ContractViolationError,
    HookLeakError,
    NonFiniteError,
    UnsafeAlphaError,
    WidthMismatchError,
    ZeroVectorError,
)
from steering_core.formal.matrix import contract_problem
from steering_core.formal.registry import load_registry

REPO_ROOT = Path(__file__).resolve().parents[2]

OPS = ["steering_delta", "steer_tensor", "normalize", "vector_norm", "perturbation_ratio", "safe_alpha_max"]


@pytest.mark.parametrize("name", OPS)
def test_ops_carry_icontract_and_deal_contracts(name: str) -> None:
    func = getattr(ops, name)
    attached = api.attached_contracts(func)
    assert "pure" in attached and "raises_declared" in attached
    assert api.has_icontract_checker(func)


def test_every_registry_contract_link_is_attached() -> None:
    links = [link for p in load_registry().properties for link in p.links["contracts"]]
    assert [link for link in links if contract_problem(link)] == []


def test_preconditions_raise_typed_errors() -> None:
    h = torch.zeros(2, 3)
    with pytest.raises(NonFiniteError, match="hidden"):
        ops.steer_tensor(torch.full((2, 3), float("nan")), torch.ones(3), 1.0)
    with pytest.raises(NonFiniteError, match="alpha"):
        ops.steer_tensor(h, torch.ones(3), float("inf"))
    with pytest.raises(WidthMismatchError, match="width 3"):
        ops.steer_tensor(h, torch.ones(4), 1.0)
    with pytest.raises(ZeroVectorError):
        ops.normalize(torch.zeros(3))


def test_postcondition_violation_is_a_contract_error() -> None:
    broken = api.contracted(api.ensure_unit_norm, names=("ensure_unit_norm",))(lambda vector: vector * 2)
    with pytest.raises(ContractViolationError, match="unit-norm"):
        broken(torch.tensor([0.6, 0.8]))


def test_undeclared_exceptions_are_reported_by_deal() -> None:
    def raw(vector: torch.Tensor) -> float:
        raise KeyError("bug")

    checked = api.contracted(api.raises_declared(ZeroVectorError), names=("raises_declared",))(raw)
    with pytest.raises(deal.RaisesContractError):
        checked(torch.ones(2))


def test_switch_turns_contracts_off() -> None:
    nan = torch.full((1, 3), float("nan"))
    with api.contracts_disabled():
        assert not api.contracts_enabled()
        out = ops.steer_tensor(nan, torch.ones(3), 1.0)  # the hidden-state contract is off
        assert torch.isnan(out).all()
    assert api.contracts_enabled()
    with pytest.raises(NonFiniteError):
        ops.steer_tensor(nan, torch.ones(3), 1.0)


def test_env_var_disables_contracts_at_import() -> None:
    code = "from contracts.api import contracts_enabled; print(contracts_enabled())"
    env = {**os.environ, "STEERING_CONTRACTS": "0"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO_ROOT, check=True
    )
    assert out.stdout.strip() == "False"


def test_safe_mode_refuses_alpha_beyond_alpha_max() -> None:
    h, v = torch.ones(2, 4), torch.ones(4)  # ||h|| = ||v|| = 2 -> alpha_max = rho
    with api.safe_mode(0.25):
        assert torch.equal(ops.steer_tensor(h, v, 0.25), h + 0.25)
        with pytest.raises(UnsafeAlphaError, match="safe mode"):
            ops.steer_tensor(h, v, 0.3)
    assert api.safe_mode_rho() is None
    ops.steer_tensor(h, v, 0.3)


def test_normalize_postcondition_holds_for_extreme_inputs() -> None:
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        info = torch.finfo(dtype)
        v = torch.tensor([info.max, info.tiny * info.eps, -info.max / 3], dtype=torch.float64).to(dtype)
        assert abs(ops.vector_norm(ops.normalize(v)) - 1) < 1e-2


class _Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(2, 2)
        self.b = nn.Linear(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x))


def test_no_hooks_left_and_snapshot() -> None:
    model = _Tiny()
    assert api.no_hooks_left(model)
    theirs = model.a.register_forward_hook(lambda *_: None)
    snapshot = api.hook_snapshot(model)
    assert not api.no_hooks_left(model) and api.no_hooks_left(model, snapshot)
    ours = model.b.register_forward_pre_hook(lambda *_: None, with_kwargs=True)
    assert not api.no_hooks_left(model, snapshot)
    with pytest.raises(HookLeakError, match="'b'"):
        api.check_no_hooks_left(model, snapshot)
    ours.remove()
    api.check_no_hooks_left(model, snapshot)
    theirs.remove()
    assert api.no_hooks_left(model)


def test_ensure_no_hooks_left_decorator() -> None:
    @api.ensure_no_hooks_left("model")
    def leaky(model: nn.Module) -> None:
        model.a.register_forward_hook(lambda *_: None, with_kwargs=True)

    @api.ensure_no_hooks_left()
    def clean(model: nn.Module) -> None:
        handle = model.a.register_forward_hook(lambda *_: None)
        handle.remove()

    clean(_Tiny())
    with pytest.raises(HookLeakError):
        leaky(_Tiny())
