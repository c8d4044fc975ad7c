"""Append-only record files: finished cells survive an interrupted run, and a rerun skips them.

Format: JSON Lines, one record (:data:`~steering_core.execute.cell.RECORD_SCHEMA`) per line in
canonical JSON, appended in the order cells finish. A line is written with one ``write`` on a
file opened ``O_APPEND`` and then ``fsync``-ed, so after a crash the file holds complete
records plus at most one torn last line (no newline). On open:

* a torn last line is cut off (the cell it belonged to is simply run again);
* any other unreadable or non-conforming line is an error (:class:`RecordFileError` naming the
  line), never skipped silently;
* a second record for a digest already in the file is an error too (a record is written once).

One run at a time: the file is locked (``flock``, exclusive, non-blocking) while a
:class:`RecordStore` is open; a second run on the same file is refused with a clear error.
Lines longer than :data:`MAX_LINE_BYTES` are refused before they are parsed.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from steering_core.canonical import canonical_json
from steering_core.execute.cell import record_problems
from steering_core.execute.errors import RecordFileError

MAX_LINE_BYTES = 64 * 1024 * 1024


class RecordStore:
    """Finished records by cell digest, backed by an append-only file (or by memory when ``path`` is None)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.records: dict[str, dict[str, Any]] = {}
        self.truncated_bytes = 0
        self._fd: int | None = None
        if self.path is not None:
            self._open(self.path)

    # ------------------------------------------------------------------ lifecycle
    def _open(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RecordFileError(str(path), 0, "another run holds this record file (one run per file)") from None
        try:
            self._load(fd, path)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def _load(self, fd: int, path: Path) -> None:
        size = os.fstat(fd).st_size
        offset = 0
        number = 0
        with open(path, "rb") as handle:
            while offset < size:
                line = handle.readline(MAX_LINE_BYTES + 1)
                number += 1
                if not line.endswith(b"\n"):
                    if len(line) > MAX_LINE_BYTES:
                        raise RecordFileError(str(path), number, f"line longer than {MAX_LINE_BYTES} bytes")
                    # a torn last line from an interrupted write: cut it off
                    os.ftruncate(fd, offset)
                    self.truncated_bytes = len(line)
                    break
                self._accept(line, number, str(path))
                offset += len(line)

    def _accept(self, line: bytes, number: int, where: str) -> None:
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
            raise RecordFileError(where, number, f"not a JSON record ({error})") from None
        problems = record_problems(record)
        if problems:
            raise RecordFileError(where, number, "; ".join(problems))
        digest = str(record["cell_sha256"])
        if digest in self.records:
            raise RecordFileError(where, number, f"a second record for cell {digest[:12]} (records are written once)")
        self.records[digest] = record

    def close(self) -> None:
        """Release the lock and close the file (idempotent)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RecordStore:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # ------------------------------------------------------------------ access
    def __contains__(self, digest: object) -> bool:
        return digest in self.records

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[str]:
        return iter(self.records)

    def get(self, digest: str) -> dict[str, Any] | None:
        """The record of ``digest`` (None when the cell has not finished)."""
        return self.records.get(digest)

    def add(self, record: Mapping[str, Any]) -> bool:
        """Store ``record`` (appended and fsync-ed when file-backed); False when its digest is already stored.

        Raises:
            RecordFileError: the record does not conform (nothing is written).
        """
        problems = record_problems(dict(record))
        if problems:
            raise RecordFileError(str(self.path or "<memory>"), 0, "refusing a bad record: " + "; ".join(problems))
        digest = str(record["cell_sha256"])
        if digest in self.records:
            return False
        if self.path is not None:
            if self._fd is None:
                raise RecordFileError(str(self.path), 0, "the store is closed")
            data = memoryview(canonical_json(dict(record)) + b"\n")
            while data:
                written = os.write(self._fd, data)
                data = data[written:]
            os.fsync(self._fd)
        self.records[digest] = dict(record)
        return True
