"""The arithmetic of steering, and nothing else.

These functions are the exact operations the hooks perform, kept apart so that the formal
layer (``spec/``, ``lean4/``, the SMT checks and the property tests) can state and check them
one by one. Every other module calls these; none re-implements them.

Float semantics (what "exact" means here):

* ``steering_delta(v, alpha, dtype)``: ``alpha`` is rounded once to float32 (float64 when
  ``v`` is float64), the product ``alpha * v`` is computed elementwise in that precision, and
  the result is rounded once to the residual's ``dtype``. Deltas that overflow the residual
  dtype are refused (``DtypeMismatchError``) instead of silently becoming ±inf.
* ``steer_tensor(h, v, alpha)``: ``h + delta`` elementwise in ``h``'s dtype. ``alpha == 0``
  (either sign of zero) performs *no arithmetic* and returns ``h`` itself: ``h + 0*v`` is not
  the identity in IEEE-754 (``-0.0 + 0.0 == +0.0``; ``0 * inf`` is NaN), so the zero-alpha
  identity is made bit-exact by construction rather than by arithmetic.
* ``normalize(v)``: computed in float64 after an exact power-of-two prescale (so neither
  huge nor subnormal entries overflow or underflow the norm), then rounded once to ``v``'s
  dtype. The zero vector is an error.

  *Fixpoint rule* (a float32 finding, registry property ``P-normalize-idempotent``): rounding
  the float64 unit vector to ``v``'s dtype leaves a norm that is 1 only within
  ``unit_norm_tolerance(dtype, d)`` (:mod:`steering_core.bounds`, proved in
  ``smt_float32``), so normalising that output again rounds differently and moves a bit: the
  SMT replay records ``v = (11, 37)`` in float32, whose normalisation ``(0x1.23cf3ep-2,
  0x1.eac546p-1)`` renormalises to ``(0x1.23cf3ep-2, 0x1.eac548p-1)``. The rule: a vector whose
  float64 norm is already within that tolerance of 1 *is* a unit vector at this precision and is
  returned unchanged (a copy). Every output of ``normalize`` satisfies the tolerance (the
  unit-sphere bound), so ``normalize(normalize(v))`` equals ``normalize(v)`` bit for bit, and
  the direction of an already-unit input is never perturbed.

* Sign symmetry ``steer(h, -v, a) == steer(h, v, -a)`` holds bit for bit (rounding to nearest
  even is symmetric; proved in ``smt_float32``). Additivity, composition, commutation and scale
  covariance hold only within the bounds of :mod:`steering_core.bounds` (the registry
  records a concrete counterexample for each).

Runtime contracts (:mod:`contracts.api`, on by default, ``STEERING_CONTRACTS=0`` turns them
off) are attached to ``steering_delta``, ``steer_tensor``, ``normalize``, ``vector_norm``,
``perturbation_ratio`` and ``safe_alpha_max``; the validators ``check_*`` carry none.
"""

from __future__ import annotations

import math

import torch

from contracts.api import (
    contracted,
    ensure_delta_shape_dtype,
    ensure_nonnegative,
    ensure_normalize_shape_dtype,
    ensure_steer_shape_dtype,
    ensure_unit_norm,
    ensure_zero_alpha_identity,
    pure,
    raises_declared,
    require_finite,
    require_finite_alpha,
    require_matching_width,
    require_nonnegative_norms,
    require_nonzero_vector,
    require_safe_alpha,
)
from steering_core.bounds import unit_norm_tolerance
from steering_core.errors import (
    DeviceMismatchError,
    DtypeMismatchError,
    InvalidParameterError,
    NonFiniteError,
    WidthMismatchError,
    ZeroVectorError,
)

FLOAT_DTYPES: tuple[torch.dtype, ...] = (torch.float32, torch.float16, torch.bfloat16, torch.float64)


def check_finite_scalar(value: float, name: str) -> float:
    """Return ``value`` as a Python float if it is a finite real number, else raise.

    Raises:
        NonFiniteError: ``value`` is NaN or ±inf.
        InvalidParameterError: ``value`` is not a real number (e.g. a string or a bool).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidParameterError(name, "a finite real number", f"{type(value).__name__} {value!r}")
    as_float = float(value)
    if not math.isfinite(as_float):
        raise NonFiniteError(name, "a finite real number", repr(as_float))
    return as_float


def check_vector(vector: torch.Tensor, name: str = "vector", width: int | None = None) -> torch.Tensor:
    """Validate a steering direction and return it unchanged.

    Preconditions checked: a 1-D floating tensor, every entry finite, and (when ``width`` is
    given) exactly ``width`` entries.

    Raises:
        DeviceMismatchError: a tensor on the ``meta`` device (it has no values to check).
        DtypeMismatchError: not a floating tensor.
        InvalidParameterError: not 1-D.
        WidthMismatchError: wrong number of entries.
        NonFiniteError: any NaN or ±inf entry (the count is reported).
    """
    if not isinstance(vector, torch.Tensor):
        raise InvalidParameterError(name, "a torch.Tensor", type(vector).__name__)
    if vector.device.type == "meta":
        raise DeviceMismatchError(name, "a tensor with data (cpu or an accelerator)", "a tensor on the meta device")
    if vector.dtype not in FLOAT_DTYPES:
        raise DtypeMismatchError(name, "a floating dtype (float32, float16, bfloat16, float64)", str(vector.dtype))
    if vector.dim() != 1:
        raise InvalidParameterError(name, "a 1-D tensor of shape (hidden_size,)", f"shape {tuple(vector.shape)}")
    if width is not None and vector.shape[0] != width:
        raise WidthMismatchError(name, f"width {width} (the model's hidden size)", f"width {vector.shape[0]}")
    finite = torch.isfinite(vector)
    if not bool(finite.all()):
        bad = int((~finite).sum())
        raise NonFiniteError(name, "finite entries only", f"{bad} NaN/inf entr{'y' if bad == 1 else 'ies'}")
    return vector


def _compute_dtype(vector: torch.Tensor) -> torch.dtype:
    return torch.float64 if vector.dtype == torch.float64 else torch.float32


@contracted(
    require_finite("vector"),
    ensure_delta_shape_dtype,
    pure,
    raises_declared(DtypeMismatchError),
    names=("require_finite_vector", "ensure_shape_dtype", "pure", "raises_declared"),
)
def steering_delta(
    vector: torch.Tensor, alpha: float, dtype: torch.dtype, device: torch.device | str | None = None
) -> torch.Tensor:
    """Return ``alpha * vector`` rounded to ``dtype`` on ``device``: the quantity a hook adds.

    Units: the same units as the residual stream. Shape: ``vector.shape``.

    Raises:
        DtypeMismatchError: ``dtype`` is not a floating dtype, or the finite product
            overflows it (e.g. a float32 delta beyond float16's 65504).
    """
    if dtype not in FLOAT_DTYPES:
        raise DtypeMismatchError("dtype", "a floating dtype (float32, float16, bfloat16, float64)", str(dtype))
    work = _compute_dtype(vector)
    alpha_t = torch.tensor(alpha, dtype=work, device=vector.device)
    delta = vector.to(work) * alpha_t
    if not bool(torch.isfinite(delta).all()):
        raise DtypeMismatchError("alpha", f"|alpha * vector| within {work} range", f"alpha={alpha!r} overflows {work}")
    out = delta.to(dtype=dtype, device=device if device is not None else vector.device)
    if not bool(torch.isfinite(out).all()):
        raise DtypeMismatchError(
            "alpha",
            f"|alpha * vector| within the residual dtype's range ({dtype})",
            f"alpha={alpha!r} overflows {dtype}",
        )
    return out


@contracted(
    require_finite_alpha,
    require_finite("vector"),
    require_finite("hidden"),
    require_matching_width,
    require_safe_alpha,
    ensure_zero_alpha_identity,
    ensure_steer_shape_dtype,
    pure,
    raises_declared(InvalidParameterError, NonFiniteError, DtypeMismatchError, WidthMismatchError),
    names=(
        "require_finite_alpha",
        "require_finite_vector",
        "require_finite_hidden",
        "require_matching_width",
        "require_safe_alpha",
        "ensure_zero_alpha_identity",
        "ensure_shape_dtype",
        "pure",
        "raises_declared",
    ),
)
def steer_tensor(hidden: torch.Tensor, vector: torch.Tensor, alpha: float) -> torch.Tensor:
    """``steer(h, v, alpha) = h + alpha * v`` along the last axis of ``hidden``.

    Pre: ``vector`` is 1-D with ``hidden.shape[-1]`` entries and finite; ``alpha`` finite.
    Post: ``alpha == 0`` returns ``hidden`` itself (no arithmetic, bit-exact); otherwise a new
    tensor of ``hidden``'s shape, dtype and device.
    """
    alpha = check_finite_scalar(alpha, "alpha")
    check_vector(vector, "vector", width=hidden.shape[-1])
    if alpha == 0.0:
        return hidden
    return hidden + steering_delta(vector, alpha, hidden.dtype, hidden.device)


@contracted(
    require_finite("vector"),
    require_nonzero_vector,
    ensure_unit_norm,
    ensure_normalize_shape_dtype,
    pure,
    raises_declared(InvalidParameterError, NonFiniteError, DtypeMismatchError, ZeroVectorError),
    names=(
        "require_finite_vector",
        "require_nonzero_vector",
        "ensure_unit_norm",
        "ensure_shape_dtype",
        "pure",
        "raises_declared",
    ),
)
def normalize(vector: torch.Tensor) -> torch.Tensor:
    """Return ``vector / ||vector||_2`` in ``vector``'s dtype.

    Pre: finite, 1-D, not all zeros.
    Post: the result's Euclidean norm, measured in float64, is within
    ``unit_norm_tolerance(dtype, d) = u + sqrt(d)*eta + 4*(d+4)*2**-53`` of 1 (each entry is
    rounded once from the float64 quotient). Idempotent bit for bit: an input already within
    that tolerance of unit norm is returned unchanged (a copy; see the module docstring).

    Raises:
        ZeroVectorError: every entry is zero (the zero vector has no direction).
    """
    check_vector(vector, "vector")
    v64 = vector.to(torch.float64)
    max_abs = v64.abs().max()
    if float(max_abs) == 0.0:
        raise ZeroVectorError("vector", "a vector with at least one non-zero entry", "the zero vector")
    measured = float(torch.linalg.vector_norm(v64))
    if abs(measured - 1.0) <= unit_norm_tolerance(vector.dtype, int(vector.numel())):
        return vector.clone()
    # Exact power-of-two prescale: entries move into [0.5, 1) in magnitude, nothing rounds.
    _, exponent = torch.frexp(max_abs)
    scaled = torch.ldexp(v64, -exponent)
    norm = torch.linalg.vector_norm(scaled)
    result: torch.Tensor = (scaled / norm).to(vector.dtype)
    return result


@contracted(
    require_finite("vector"),
    ensure_nonnegative,
    pure,
    raises_declared(),
    names=("require_finite_vector", "ensure_nonnegative", "pure", "raises_declared"),
)
def vector_norm(vector: torch.Tensor) -> float:
    """Euclidean norm of ``vector`` computed in float64 (no overflow for float32 inputs)."""
    return float(torch.linalg.vector_norm(vector.to(torch.float64)))


@contracted(
    require_finite_alpha,
    require_nonnegative_norms("vector_norm_value", "residual_norm"),
    ensure_nonnegative,
    pure,
    raises_declared(InvalidParameterError, NonFiniteError),
    names=("require_finite_alpha", "require_nonnegative_norms", "ensure_nonnegative", "pure", "raises_declared"),
)
def perturbation_ratio(alpha: float, vector_norm_value: float, residual_norm: float) -> float:
    """``|alpha| * ||v|| / ||h||``: the size of the steering step relative to the residual.

    This is exactly ``||steer(h, v, alpha) - h|| / ||h||`` over the reals. In floating point the
    result is within ``K_RATIO * 2**-53`` (relative) of the real quotient of its arguments, and the
    *realised* ratio of a float32/16 steer differs from it by the step bound of
    :func:`steering_core.bounds.step_norm_slack` (registry ``P-perturbation-ratio``).

    Raises:
        InvalidParameterError: ``residual_norm <= 0`` or ``vector_norm_value < 0``.
    """
    alpha = check_finite_scalar(alpha, "alpha")
    vector_norm_value = check_finite_scalar(vector_norm_value, "vector_norm")
    residual_norm = check_finite_scalar(residual_norm, "residual_norm")
    if vector_norm_value < 0:
        raise InvalidParameterError("vector_norm", ">= 0", vector_norm_value)
    if residual_norm <= 0:
        raise InvalidParameterError("residual_norm", "> 0", residual_norm)
    return abs(alpha) * vector_norm_value / residual_norm


@contracted(
    require_nonnegative_norms("rho", "vector_norm_value", "residual_norm"),
    ensure_nonnegative,
    pure,
    raises_declared(InvalidParameterError, NonFiniteError),
    names=("require_nonnegative_norms", "ensure_nonnegative", "pure", "raises_declared"),
)
def safe_alpha_max(rho: float, vector_norm_value: float, residual_norm: float) -> float:
    """The largest ``|alpha|`` with ``|alpha| * ||v|| <= rho * ||h||``, i.e. ``rho * ||h|| / ||v||``.

    Computed in float64 with two roundings, so it may exceed the real maximum by at most
    ``K_ALPHA_MAX * 2**-53`` relative (registry ``P-alpha-max`` records ``rho = 0.1, ||h|| =
    ||v|| = 3`` giving ``0.10000000000000002``); the realised step then obeys the safe-alpha
    bound with ``rho * (1 + 3 * 2**-53)``.

    Raises:
        InvalidParameterError: ``rho < 0``, ``vector_norm_value <= 0`` or ``residual_norm < 0``.
    """
    rho = check_finite_scalar(rho, "rho")
    vector_norm_value = check_finite_scalar(vector_norm_value, "vector_norm")
    residual_norm = check_finite_scalar(residual_norm, "residual_norm")
    if rho < 0:
        raise InvalidParameterError("rho", ">= 0", rho)
    if vector_norm_value <= 0:
        raise InvalidParameterError("vector_norm", "> 0", vector_norm_value)
    if residual_norm < 0:
        raise InvalidParameterError("residual_norm", ">= 0", residual_norm)
    return rho * residual_norm / vector_norm_value
