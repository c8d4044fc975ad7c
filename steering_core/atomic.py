"""Atomic writes: a file or folder is either the old one or the complete new one, never half-written.

Every write of the project that replaces a file or a folder goes through this module, with one
rule for all of them:

* **Where**: the new content is written under a temporary name in the *same* folder as the
  target (``.<name>.<random>.tmp``), so the final rename never crosses a file system. Missing
  parent folders are created.
* **Mode**: the result gets the usual mode of a newly created file or folder, ``0o666`` (files)
  or ``0o777`` (folders) minus the process umask, not ``mkstemp``/``mkdtemp``'s private
  ``0o600``/``0o700``.
* **fsync**: before the rename the new content is flushed and ``fsync``-ed (every regular file
  of a folder, then the folder); after the rename the parent folder is ``fsync``-ed, so the
  rename itself survives a crash. (Where the platform cannot open a folder for ``fsync`` that
  last step is skipped.)
* **Replace**: ``os.replace`` renames the file over the target (atomic on POSIX). A folder
  that already exists is first renamed aside, the new one renamed into place, and only then is
  the old one deleted, so the target name always holds a complete folder.
* **Failure**: on any error (including in the caller's code inside :func:`atomic_file` or
  :func:`atomic_dir`) the temporary file or folder is removed and the target is untouched.

Library layer: imports nothing from the tooling layer.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_path(path: Path) -> None:
    """fsync a file, or a folder where the platform allows opening one (skipped otherwise)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if path.is_dir() else os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except OSError:
        if path.is_dir():
            return  # e.g. Windows: folders cannot be opened for fsync
        raise
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        with suppress(FileNotFoundError):
            os.unlink(path)


@contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on a normal exit publish it as ``path`` (module rule).

    The caller writes the complete file at the yielded path (with any writer that takes a
    path). Post: on a normal exit ``path`` holds what was written there; on an exception the
    temporary file is gone, ``path`` is as it was and the exception propagates.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _fsync_path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
        _fsync_path(target.parent)
    finally:
        _remove(tmp)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (module rule) and return ``path`` as a :class:`Path`.

    Post: either ``path`` holds exactly ``data`` or (on error) it is as it was before and no
    temporary file remains.
    """
    target = Path(path)
    with atomic_file(target) as tmp, tmp.open("wb") as handle:
        handle.write(data)
    return target


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` as UTF-8 to ``path`` atomically (module rule) and return ``path`` as a :class:`Path`."""
    return write_bytes_atomic(path, text.encode("utf-8"))


@contextmanager
def atomic_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty temporary folder next to ``path``; on a normal exit publish it as ``path`` (module rule).

    An existing folder at ``path`` is replaced (renamed aside, the new one renamed in, then the
    old one deleted). The caller checks beforehand whether replacing it is allowed.
    Post: on a normal exit ``path`` is the folder the caller filled; on an exception the
    temporary folder is gone and ``path`` is as it was.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        for root, _dirs, files in os.walk(tmp):
            for file in files:
                entry = Path(root) / file
                if entry.is_file() and not entry.is_symlink():
                    _fsync_path(entry)
        _fsync_path(tmp)
        os.chmod(tmp, 0o777 & ~_umask())
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
            try:
                os.replace(target, old / target.name)
                try:
                    os.replace(tmp, target)
                except BaseException:
                    os.replace(old / target.name, target)  # put the old folder back
                    raise
            finally:
                shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
        _fsync_path(target.parent)
    finally:
        _remove(tmp)
