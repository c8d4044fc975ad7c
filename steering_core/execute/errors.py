"""Typed errors of the execution layer (all :class:`~steering_core.errors.SteeringError`)."""

from __future__ import annotations

from steering_core.errors import SteeringError


class ExecutionError(SteeringError):
    """Base class of every error raised on purpose by :mod:`steering_core.execute`."""


class CellError(ExecutionError, ValueError):
    """A cell is malformed (names the field and the accepted range)."""

    def __init__(self, field: str, accepted: str, got: object) -> None:
        self.field = field
        super().__init__(f"cell.{field}: expected {accepted}, got {got}")


class RecordFileError(ExecutionError, ValueError):
    """A record file is unreadable, corrupt in the middle, or locked by another run.

    Attributes:
        path: the file.
        line: the 1-based line number of the problem (0 when it is about the whole file).
    """

    def __init__(self, path: str, line: int, detail: str) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}" if line else path
        super().__init__(f"record file {where}: {detail}")


class ExecutorUnavailableError(ExecutionError, LookupError):
    """The chosen executor cannot run here (e.g. Ray is not installed, or the address does not answer)."""


class CellFailedError(ExecutionError):
    """A cell failed on every attempt (its worker died each time, or the cell itself raised)."""

    def __init__(self, digest: str, attempts: int, detail: str) -> None:
        self.digest = digest
        self.attempts = attempts
        super().__init__(f"cell {digest[:12]} failed after {attempts} attempt(s): {detail}")
