"""Typed errors of the steering core.

Every error names the offending parameter and, where one exists, the accepted range, so a
caller can tell bad input from a bug without reading a traceback. All of them derive from
:class:`SteeringError`; those that reject a value also derive from :class:`ValueError`
(or :class:`LookupError` for unknown names) so generic handlers keep working.
"""

from __future__ import annotations


class SteeringError(Exception):
    """Base class of every error raised on purpose by ``steering_core``."""


class InvalidParameterError(SteeringError, ValueError):
    """A parameter has a value outside its accepted range.

    Attributes:
        parameter: the parameter's name as the caller spelled it.
        accepted: the accepted range or set, in words.
        got: a short description of what was passed.
    """

    def __init__(self, parameter: str, accepted: str, got: object) -> None:
        self.parameter = parameter
        self.accepted = accepted
        self.got = got
        super().__init__(f"{parameter}: expected {accepted}, got {got}")


class NonFiniteError(InvalidParameterError):
    """A tensor or scalar holds NaN or ±inf."""


class WidthMismatchError(InvalidParameterError):
    """A vector's width differs from the model's hidden size."""


class LayerOutOfRangeError(InvalidParameterError):
    """A layer index is outside ``[0, num_layers)``."""


class ZeroVectorError(InvalidParameterError):
    """Normalising the zero vector (it has no direction)."""


class DtypeMismatchError(InvalidParameterError):
    """A tensor has a dtype the operation cannot take, or a cast would overflow."""


class DeviceMismatchError(InvalidParameterError):
    """Tensors that must share a device do not, or a tensor has no data (the ``meta`` device)."""


class ModelMismatchError(InvalidParameterError):
    """A steering vector records another model (name or layer count) than the one it is applied to."""


class EmptyPromptError(InvalidParameterError):
    """A prompt that gives the model no token to read (empty, or whitespace only without a chat template)."""


class UnknownStyleError(SteeringError, LookupError):
    """A style name that is not registered."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        super().__init__(f"style: unknown style {name!r}; known styles: {', '.join(known)}")


class ModelUnavailableError(SteeringError, OSError):
    """A model cannot be loaded (offline, missing files), with the alternatives that would work."""


class ChecksumMismatchError(SteeringError, OSError):
    """A file's sha256 differs from the pinned digest; the file is refused."""


class UnsupportedModelError(SteeringError, TypeError):
    """The model's layout is not one the core knows how to hook."""


class HookLeakError(SteeringError, RuntimeError):
    """Hooks remained on a model after a steering context exited (a bug, never expected)."""


class ConcurrentSteeringError(SteeringError, RuntimeError):
    """Steering on a shared model would be silently mixed across threads, so it is refused.

    Hook-mode steering is isolated per execution context (thread / asyncio task); this is raised
    where isolation is impossible, e.g. ``mode="folded"`` (rewritten weights) while another
    thread steers the same model.
    """


class UnsafeAlphaError(InvalidParameterError):
    """``|alpha|`` exceeds the safe maximum ``rho * ||h|| / ||v||`` while safe mode is on."""


class ContractViolationError(SteeringError, AssertionError):
    """A postcondition of a runtime contract failed: a bug in steering_core, never bad input."""


class JSONFormatError(SteeringError, ValueError):
    """A JSON value or text breaks the rules of :mod:`steering_core.canonical` or :mod:`steering_core.strict_json`.

    Attributes:
        where: what was being encoded or read (a parameter, file or field name).
        detail: what was wrong, in words (duplicate key, non-finite number, not canonical, ...).
    """

    def __init__(self, where: str, detail: str) -> None:
        self.where = where
        self.detail = detail
        super().__init__(f"{where}: {detail}")


class DataFileError(SteeringError, OSError):
    """A data file the package ships (package data) or a checkout-only file cannot be found or read."""


class CheckoutRequiredError(DataFileError):
    """A command needs the source checkout (``tests/``, ``scripts/``, git) and the package is installed outside one."""
