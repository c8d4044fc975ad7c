"""Typed errors of the conjecture registry (CPRR).

Every error derives from :class:`CprrError` (itself a :class:`~steering_core.errors.SteeringError`,
so the ``steer`` command line reports it in one line with exit status 2). Errors that reject a
value also derive from :class:`ValueError`, unknown names from :class:`LookupError`.
"""

from __future__ import annotations

from steering_core.errors import SteeringError


class CprrError(SteeringError):
    """Base class of every error raised on purpose by :mod:`steering_core.cprr`."""


class EntryError(CprrError, ValueError):
    """An entry (file or in-memory) is malformed, inconsistent or would break the append-only rule.

    Attributes:
        entry_id: the entry's id (or the file name when the id cannot be read).
        problems: every problem found, one line each.
    """

    def __init__(self, entry_id: str, problems: list[str]) -> None:
        self.entry_id = entry_id
        self.problems = list(problems)
        shown = "; ".join(self.problems[:3]) + (f"; ... ({len(self.problems) - 3} more)" if len(problems) > 3 else "")
        super().__init__(f"{entry_id}: {shown}")


class AppendOnlyError(EntryError):
    """A new version of an entry is not a strict extension of the old one (history or evidence edited)."""


class InvalidTransitionError(CprrError, ValueError):
    """A status transition was requested that the lifecycle or the evidence does not allow.

    Attributes:
        entry_id: the conjecture.
        current: its status now.
        target: the requested status.
        reason: why it is refused, in words (names the rule and the evidence it looked at).
    """

    def __init__(self, entry_id: str, current: str, target: str, reason: str) -> None:
        self.entry_id = entry_id
        self.current = current
        self.target = target
        self.reason = reason
        super().__init__(f"{entry_id}: transition {current} -> {target} rejected: {reason}")


class UnknownConjectureError(CprrError, LookupError):
    """No entry with that id in the registry folder."""

    def __init__(self, entry_id: str, known: list[str]) -> None:
        self.entry_id = entry_id
        self.known = known
        super().__init__(f"conjecture: unknown id {entry_id!r}; known ids: {', '.join(known) or '(none)'}")


class NoRunnerError(CprrError, LookupError):
    """The conjecture has no registered runner, so its protocol cannot be executed here."""

    def __init__(self, entry_id: str, known: list[str]) -> None:
        self.entry_id = entry_id
        self.known = known
        super().__init__(
            f"run: no runner registered for {entry_id!r} (its protocol stays pre-registered); "
            f"runnable ids: {', '.join(known) or '(none)'}"
        )


class ProtocolDataError(CprrError, ValueError):
    """The data a protocol names is not the data it pre-registered (prompt-set digest changed, too few prompts)."""


class MeasurementError(CprrError, ValueError):
    """A runner returned measured values the registry cannot record (non-finite, wrong type, rule metric missing)."""
