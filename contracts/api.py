"""Runtime contracts for the public API of :mod:`steering_core`.

Which library does what, and why (never both for the same thing):

* **icontract** states *value* pre- and postconditions (``require``/``ensure``): finite tensors,
  matching widths, finite alpha, a non-zero vector before normalising, the optional safe-mode
  bound on ``|alpha|``, and the unit-norm postcondition with the tolerance derived in
  :mod:`steering_core.bounds`. It is the better tool here because its ``error=`` hook
  lets a failed condition raise *our* typed errors (:mod:`steering_core.errors`) with a message
  that names the parameter, the accepted range and what was passed, and because it inspects the
  condition's arguments by name (no glue code per function).
* **deal** states *effects*: ``deal.has()`` marks an op as free of I/O and global state (checked
  at run time by patching stdout/stderr/sockets, and statically by ``python -m deal lint``), and
  ``deal.raises(...)`` lists the only exceptions an op may raise (anything else surfaces as
  ``deal.RaisesContractError``, i.e. a bug, not an input error). icontract has neither notion.

Contracts are **on by default**. Turn them off for measurement with the environment variable
``STEERING_CONTRACTS=0`` (read at import) or at run time with :func:`set_contracts_enabled` /
the :func:`contracts_disabled` context manager; a contracted function then calls the raw
function directly (one flag test, no condition evaluated, no deal patching).

The per-token hook path carries no contract: the steering hook adds a precomputed delta and
calls no contracted function per token (``steering_delta`` runs once per dtype/device).

Every contract has a stable name (:data:`CONTRACTS`); a contracted function lists the names
attached to it in ``__steering_contracts__`` (the spec matrix checks the registry's links
against it).
"""

from __future__ import annotations

import functools
import inspect
import math
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar, cast

import deal
import icontract
import torch
from torch import nn

from steering_core import errors as E
from steering_core.bounds import unit_norm_tolerance
from steering_core.hooks import HookSnapshot
from steering_core.hooks import hook_snapshot as hook_snapshot  # re-exported: contracts.hook_snapshot

P = ParamSpec("P")
R = TypeVar("R")

_state = threading.local()
_ENABLED_DEFAULT = os.environ.get("STEERING_CONTRACTS", "1").strip().lower() not in ("0", "false", "off", "no")
_enabled = _ENABLED_DEFAULT
_safe_rho: float | None = None

CONTRACTS: dict[str, str] = {
    "require_finite_vector": "icontract: the steering vector has only finite entries (NonFiniteError)",
    "require_finite_hidden": "icontract: the residual has only finite entries (NonFiniteError)",
    "require_matching_width": "icontract: vector width == hidden.shape[-1] (WidthMismatchError)",
    "require_finite_alpha": "icontract: alpha is a finite real number (NonFiniteError)",
    "require_nonzero_vector": "icontract: ||v|| > 0 before normalising (ZeroVectorError)",
    "require_safe_alpha": "icontract: in safe mode, |alpha| <= rho*||h||/||v|| for every row (UnsafeAlphaError)",
    "require_nonnegative_norms": "icontract: norms and rho are finite and >= 0, ||h|| > 0 (InvalidParameterError)",
    "ensure_unit_norm": "icontract: |‖normalize(v)‖ - 1| <= unit_norm_tolerance(dtype, d) (ContractViolationError)",
    "ensure_zero_alpha_identity": "icontract: steer_tensor(h, v, 0) is h itself (ContractViolationError)",
    "ensure_shape_dtype": "icontract: the result keeps the documented shape and dtype (ContractViolationError)",
    "ensure_nonnegative": "icontract: the result is a finite number >= 0 (ContractViolationError)",
    "pure": "deal.has(): no I/O, no global state",
    "raises_declared": "deal.raises(...): only the listed typed errors may escape",
}


# --------------------------------------------------------------------------- switch


def contracts_enabled() -> bool:
    """Whether contracted functions check their contracts (default: on; see the module docstring)."""
    override = getattr(_state, "enabled", None)
    return _enabled if override is None else bool(override)


def set_contracts_enabled(enabled: bool) -> None:
    """Turn every contract on or off process-wide (e.g. for a benchmark)."""
    global _enabled
    _enabled = bool(enabled)


@contextmanager
def contracts_disabled() -> Iterator[None]:
    """Within the block (this thread), contracted functions skip their contracts."""
    previous = getattr(_state, "enabled", None)
    _state.enabled = False
    try:
        yield
    finally:
        _state.enabled = previous


def set_safe_mode(rho: float | None) -> None:
    """Safe mode: refuse ``|alpha| > rho * ||h|| / ||v||`` in :func:`steering_core.ops.steer_tensor`.

    ``None`` turns it off (the default). ``rho`` must be finite and ``>= 0``.

    Raises:
        InvalidParameterError: ``rho`` negative or not finite.
    """
    global _safe_rho
    if rho is not None and (not math.isfinite(rho) or rho < 0):
        raise E.InvalidParameterError("rho", "a finite number >= 0, or None", rho)
    _safe_rho = None if rho is None else float(rho)


def safe_mode_rho() -> float | None:
    """The current safe-mode ``rho`` (``None``: safe mode off)."""
    return _safe_rho


@contextmanager
def safe_mode(rho: float) -> Iterator[None]:
    """Safe mode for the duration of the block (process-wide)."""
    previous = _safe_rho
    set_safe_mode(rho)
    try:
        yield
    finally:
        set_safe_mode(previous)


# --------------------------------------------------------------------------- attaching


def contracted(
    *decorators: Callable[[Callable[..., Any]], Callable[..., Any]], names: tuple[str, ...]
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Attach ``decorators`` (icontract/deal, outermost first) to a function, behind the switch.

    The returned function dispatches to the checked version when :func:`contracts_enabled`,
    else to the raw function. It carries ``__steering_contracts__`` (the names),
    ``__wrapped__`` (raw) and ``__checked__`` (the checked function).

    Raises:
        KeyError: a name not in :data:`CONTRACTS`.
    """
    for name in names:
        if name not in CONTRACTS:
            raise KeyError(f"unknown contract name {name!r}")

    def attach(func: Callable[P, R]) -> Callable[P, R]:
        checked: Callable[..., Any] = func
        for decorator in reversed(decorators):
            checked = decorator(checked)

        @functools.wraps(func)
        def dispatch(*args: P.args, **kwargs: P.kwargs) -> R:
            # Checked at the API boundary only: a contracted op called from inside another
            # (steer_tensor -> steering_delta) runs raw, so nothing is checked or patched twice.
            if not contracts_enabled() or getattr(_state, "inside", False):
                return func(*args, **kwargs)
            _state.inside = True
            try:
                return cast(R, checked(*args, **kwargs))
            finally:
                _state.inside = False

        dispatch.__steering_contracts__ = names  # type: ignore[attr-defined]
        dispatch.__checked__ = checked  # type: ignore[attr-defined]
        return dispatch

    return attach


def attached_contracts(func: Callable[..., Any]) -> tuple[str, ...]:
    """The contract names attached to ``func`` with :func:`contracted` (empty if none)."""
    return tuple(getattr(func, "__steering_contracts__", ()))


def has_icontract_checker(func: Callable[..., Any]) -> bool:
    """Whether ``func``'s checked version really carries icontract pre/postconditions."""
    checked = getattr(func, "__checked__", None)
    while checked is not None:
        if getattr(checked, "__preconditions__", None) or getattr(checked, "__postconditions__", None):
            return True
        checked = getattr(checked, "__wrapped__", None)
    return False


# --------------------------------------------------------------------------- conditions


def _finite_tensor(x: Any) -> bool:
    return not isinstance(x, torch.Tensor) or bool(torch.isfinite(x).all())


def _nonfinite_error(name: str) -> Callable[..., Exception]:
    def make(**kwargs: Any) -> Exception:
        x = kwargs.get(name)
        bad = int((~torch.isfinite(x)).sum()) if isinstance(x, torch.Tensor) else 0
        error: Exception = E.NonFiniteError(
            name, "finite entries only", f"{bad} NaN/inf entr{'y' if bad == 1 else 'ies'}"
        )
        return error

    return make


def require_finite(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """icontract precondition: tensor argument ``name`` has only finite entries (NonFiniteError)."""

    def condition(**kwargs: Any) -> bool:
        return _finite_tensor(kwargs[name])

    condition.__signature__ = _kw_signature(name)  # type: ignore[attr-defined]
    error = _nonfinite_error(name)
    error.__signature__ = _kw_signature(name)  # type: ignore[attr-defined]
    return cast(Callable[[Callable[..., Any]], Callable[..., Any]], icontract.require(condition, error=error))


def _kw_signature(*names: str) -> Any:
    return inspect.Signature([inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names])


def _is_finite_real(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(float(value))


require_finite_alpha = cast(
    Callable[[Callable[..., Any]], Callable[..., Any]],
    icontract.require(
        lambda alpha: _is_finite_real(alpha),
        error=lambda alpha: (
            E.NonFiniteError("alpha", "a finite real number", repr(alpha))
            if isinstance(alpha, (int, float)) and not isinstance(alpha, bool)
            else E.InvalidParameterError("alpha", "a finite real number", f"{type(alpha).__name__} {alpha!r}")
        ),
    ),
)

require_matching_width = cast(
    Callable[[Callable[..., Any]], Callable[..., Any]],
    icontract.require(
        lambda hidden, vector: (
            not isinstance(vector, torch.Tensor)
            or not isinstance(hidden, torch.Tensor)
            or vector.dim() != 1
            or hidden.dim() == 0
            or vector.shape[0] == hidden.shape[-1]
        ),
        error=lambda hidden, vector: E.WidthMismatchError(
            "vector", f"width {hidden.shape[-1]} (hidden.shape[-1])", f"shape {tuple(vector.shape)}"
        ),
    ),
)

require_nonzero_vector = cast(
    Callable[[Callable[..., Any]], Callable[..., Any]],
    icontract.require(
        lambda vector: not isinstance(vector, torch.Tensor) or bool((vector != 0).any()),
        error=lambda vector: E.ZeroVectorError(
            "vector", "a vector with at least one non-zero entry", "the zero vector"
        ),
    ),
)


def _safe_alpha_ok(hidden: Any, vector: Any, alpha: Any) -> bool:
    rho = _safe_rho
    if rho is None or not isinstance(hidden, torch.Tensor) or not isinstance(vector, torch.Tensor):
        return True
    if not _is_finite_real(alpha) or alpha == 0:
        return True
    norm_v = float(torch.linalg.vector_norm(vector.to(torch.float64)))
    if norm_v == 0.0:
        return True
    min_h = float(torch.linalg.vector_norm(hidden.to(torch.float64), dim=-1).min()) if hidden.numel() else 0.0
    return abs(float(alpha)) <= rho * min_h / norm_v


def _unsafe_alpha_error(hidden: Any, vector: Any, alpha: Any) -> Exception:
    norm_v = float(torch.linalg.vector_norm(vector.to(torch.float64)))
    min_h = float(torch.linalg.vector_norm(hidden.to(torch.float64), dim=-1).min())
    alpha_max = (_safe_rho or 0.0) * min_h / norm_v
    error: Exception = E.UnsafeAlphaError(
        "alpha", f"|alpha| <= rho*||h||/||v|| = {alpha_max!r} (safe mode, rho={_safe_rho!r})", repr(alpha)
    )
    return error


require_safe_alpha = cast(
    Callable[[Callable[..., Any]], Callable[..., Any]],
    icontract.require(_safe_alpha_ok, error=_unsafe_alpha_error),
)


def _unit_norm_ok(result: Any) -> bool:
    if not isinstance(result, torch.Tensor) or result.dtype not in (
        torch.float64,
        torch.float32,
        torch.float16,
        torch.bfloat16,
    ):
        return False
    norm = float(torch.linalg.vector_norm(result.to(torch.float64)))
    return abs(norm - 1.0) <= unit_norm_tolerance(result.dtype, int(result.numel()))


ensure_unit_norm = cast(
    Callable[[Callable[..., Any]], Callable[..., Any]],
    icontract.ensure(
        lambda result: _unit_norm_ok(result),
        error=lambda result: E.ContractViolationError(
            "normalize: the result's norm "
            f"{float(torch.linalg.vector_norm(result.to(torch.float64)))!r} is outside the unit-norm tolerance"
        ),
    ),
)

ensure_zero_alpha_identity = cast(
    Callable[[Callable[..., Any]], Callable[..., Any]],
    icontract.ensure(
        lambda hidden, alpha, result: alpha != 0 or result is hidden,
        error=lambda hidden, alpha, result: E.ContractViolationError(
            "steer_tensor: alpha == 0 must return the residual itself (bit-exact identity)"
        ),
    ),
)

ensure_steer_shape_dtype = cast(
    Callable[[Callable[..., Any]], Callable[..., Any]],
    icontract.ensure(
        lambda hidden, result: result.shape == hidden.shape and result.dtype == hidden.dtype,
        error=lambda hidden, result: E.ContractViolationError(
            f"steer_tensor: result {tuple(result.shape)}/{result.dtype} "
            f"!= residual {tuple(hidden.shape)}/{hidden.dtype}"
        ),
    ),
)

ensure_delta_shape_dtype = cast(
    Callable[[Callable[..., Any]], Callable[..., Any]],
    icontract.ensure(
        lambda vector, dtype, result: (
            result.shape == vector.shape and result.dtype == dtype and bool(torch.isfinite(result).all())
        ),
        error=lambda vector, dtype, result: E.ContractViolationError(
            f"steering_delta: result {tuple(result.shape)}/{result.dtype} is not a finite {tuple(vector.shape)}/{dtype}"
        ),
    ),
)

ensure_normalize_shape_dtype = cast(
    Callable[[Callable[..., Any]], Callable[..., Any]],
    icontract.ensure(
        lambda vector, result: result.shape == vector.shape and result.dtype == vector.dtype,
        error=lambda vector, result: E.ContractViolationError(
            f"normalize: result {tuple(result.shape)}/{result.dtype} != input {tuple(vector.shape)}/{vector.dtype}"
        ),
    ),
)

ensure_nonnegative = cast(
    Callable[[Callable[..., Any]], Callable[..., Any]],
    icontract.ensure(
        lambda result: isinstance(result, float) and math.isfinite(result) and result >= 0,
        error=lambda result: E.ContractViolationError(f"expected a finite number >= 0, got {result!r}"),
    ),
)


def _norm_args_ok(**kwargs: Any) -> bool:
    for name in ("vector_norm_value", "residual_norm", "rho"):
        if name in kwargs:
            value = kwargs[name]
            if not _is_finite_real(value) or value < 0:
                return False
    return True


def require_nonnegative_norms(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """icontract precondition: the named scalar arguments are finite and ``>= 0``."""

    def condition(**kwargs: Any) -> bool:
        return _norm_args_ok(**kwargs)

    def error(**kwargs: Any) -> Exception:
        bad = next(n for n in names if not _is_finite_real(kwargs[n]) or kwargs[n] < 0)
        failure: Exception = E.InvalidParameterError(bad, "a finite number >= 0", repr(kwargs[bad]))
        return failure

    condition.__signature__ = _kw_signature(*names)  # type: ignore[attr-defined]
    error.__signature__ = _kw_signature(*names)  # type: ignore[attr-defined]
    return cast(Callable[[Callable[..., Any]], Callable[..., Any]], icontract.require(condition, error=error))


def pure(func: Callable[..., Any]) -> Callable[..., Any]:
    """deal marker ``deal.has("stderr")``: no stdout, no network, no global state; warnings allowed.

    A fresh ``deal.has`` per function: deal keeps the patched streams on the decorator's patcher
    object, so one shared decorator would restore the wrong stream when two marked functions nest.
    stderr stays writable so that a library warning inside an op cannot turn into an error.
    Caveat (deal's design): while a marked op runs, ``sys.stdout`` is process-wide replaced, so
    another *thread* printing at that moment gets ``deal.SilentContractError``; turn contracts
    off in multi-threaded measurement code.

    Threads: deal's check patches *process-wide* state for the duration of the call
    (``sys.stdout`` and ``socket.socket``), so it is sound only while no other thread can run.
    With other threads alive, the patch breaks their I/O: a server's ``accept()`` or a client's
    ``connect()`` in another thread raises ``deal.OfflineContractError`` while the engine thread
    is inside a marked op (found by the real-model load test of ``steer serve``), and two marked
    calls at once restore each other's patch, leaving ``sys.stdout`` replaced for good. So the
    effect check runs only when the calling thread is the process's only thread (it cannot
    start another one from inside a marked op), serialised under :data:`_PURE_LOCK`; with other
    threads alive the op runs unpatched (its icontract pre/postconditions still run).
    """
    marked: Callable[..., Any] = deal.has("stderr")(_fresh(func))

    @functools.wraps(func)
    def serialised(*args: Any, **kwargs: Any) -> Any:
        if threading.active_count() > 1:  # the process-wide patch would reach other threads' I/O
            return func(*args, **kwargs)
        with _PURE_LOCK:
            return marked(*args, **kwargs)

    return serialised


_PURE_LOCK = threading.RLock()


def _fresh(func: Callable[..., Any]) -> Callable[..., Any]:
    """A plain forwarding wrapper of ``func`` that carries none of its attributes.

    deal attaches its contracts to the function object and *merges* a new marker into a
    function that already has deal contracts (``raises_declared`` runs first) instead of
    wrapping it; ``deal.has`` on ``func`` itself would make every call of ``func`` patch the
    process, including the unpatched path of :func:`pure`.
    """

    def call(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    functools.update_wrapper(call, func, updated=())
    return call


def raises_declared(*errors: type[BaseException]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """deal marker: only exceptions of exactly these types may escape (deal compares ``type(exc)``,
    not ``isinstance``, so every concrete typed error is listed); others become
    ``deal.RaisesContractError``."""
    return cast(Callable[[Callable[..., Any]], Callable[..., Any]], deal.raises(*errors))


# --------------------------------------------------------------------------- hooks

# hook_snapshot (re-exported): the one hook inventory, steering_core.hooks.HOOK_DICTS.


def no_hooks_left(model: nn.Module, snapshot: HookSnapshot | None = None) -> bool:
    """Postcondition: every module's hook registries are empty, or equal to ``snapshot``.

    ``snapshot`` is :func:`hook_snapshot` taken before the steering context was entered (hooks
    that other code owns). Checks ``_forward_hooks``, ``_forward_pre_hooks``,
    ``_forward_hooks_with_kwargs`` (and the pre-hook kwargs / always-called registries).
    """
    return hook_snapshot(model) == (snapshot or {})


def check_no_hooks_left(model: nn.Module, snapshot: HookSnapshot | None = None) -> None:
    """Raise :class:`HookLeakError` naming the leaking modules unless :func:`no_hooks_left` holds.

    Skipped when contracts are disabled.

    Raises:
        HookLeakError: a hook registry differs from ``snapshot`` (or is non-empty).
    """
    if not contracts_enabled():
        return
    now = hook_snapshot(model)
    expected = snapshot or {}
    if now != expected:
        leaking = sorted(n for n in set(now) | set(expected) if now.get(n) != expected.get(n))
        raise E.HookLeakError(f"hooks left on {len(leaking)} module(s): {', '.join(repr(n) for n in leaking[:8])}")


def ensure_no_hooks_left(model_param: str = "model") -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator: after the function returns, no hook is left on its ``model_param`` argument.

    For a function that both installs and removes hooks (e.g. a ``with steer(...)`` block run to
    completion). For the steering context manager itself call :func:`check_no_hooks_left` on exit.
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            bound = inspect.signature(func).bind(*args, **kwargs)
            model = bound.arguments[model_param]
            before = hook_snapshot(model) if contracts_enabled() else None
            result = func(*args, **kwargs)
            check_no_hooks_left(model, before)
            return result

        return wrapper

    return decorate
