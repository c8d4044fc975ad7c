"""Entry files: ``steering_core/data/cprr/<id>.json``, one per conjecture, read strictly and written atomically.

Reading refuses duplicate keys and non-finite numbers. Writing (:func:`write_entry`) first
checks the new version -- schema, :func:`~steering_core.cprr.validate.check_entry` and, when a
file already exists, :func:`~steering_core.cprr.validate.append_only_problems` against it --
and only then replaces the file (temporary file in the same folder, ``os.replace``), so a
refused or interrupted write leaves the old file untouched. Files are indented JSON (2 spaces,
UTF-8, trailing newline); digests never depend on this layout (they use canonical JSON).

Git helpers read the version of an entry at a ref (``git show REF:path``) for the append-only
check of ``steer cprr check``; outside a git checkout they return nothing.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from steering_core.atomic import write_text_atomic
from steering_core.cprr.errors import AppendOnlyError, EntryError, UnknownConjectureError
from steering_core.cprr.lifecycle import Entry
from steering_core.cprr.validate import append_only_problems, check_entry
from steering_core.errors import JSONFormatError
from steering_core.resources import data_path
from steering_core.strict_json import loads_strict

DEFAULT_REGISTRY_DIR = data_path("cprr")
_ID_KEY = re.compile(r"^(C)-(\d+)$|^H-([A-Z]+)-(\d+)$")


def registry_dir(directory: Path | str | None = None) -> Path:
    """The registry folder: ``directory``, or the shipped registry ``cprr/`` of the package data."""
    return Path(directory) if directory is not None else DEFAULT_REGISTRY_DIR


def id_sort_key(entry_id: str) -> tuple[int, str, int]:
    """Sort key: C-1, C-2, ..., C-14, then H-* by name and number."""
    match = _ID_KEY.match(entry_id)
    if match is None:
        return (2, entry_id, 0)
    if match.group(1):
        return (0, "", int(match.group(2)))
    return (1, match.group(3), int(match.group(4)))


def entry_paths(directory: Path | str | None = None) -> list[Path]:
    """Every entry file of the folder (``*.json`` except the schema), in id order."""
    folder = registry_dir(directory)
    paths = [p for p in folder.glob("*.json") if not p.name.endswith(".schema.json")]
    return sorted(paths, key=lambda p: id_sort_key(p.stem))


def parse_entry(text: str, name: str) -> Entry:
    """Parse an entry's JSON text strictly (no duplicate keys, no NaN/inf).

    Raises:
        EntryError: not JSON, or not an object.
    """
    try:
        value = loads_strict(text, name)
    except JSONFormatError as error:
        raise EntryError(name, [f"not valid JSON: {error.detail}"]) from None
    if not isinstance(value, dict):
        raise EntryError(name, ["not a JSON object"])
    return value


def read_entry_file(path: Path) -> Entry:
    """The entry stored at ``path`` (parsed, not validated)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise EntryError(path.name, [f"unreadable: {error}"]) from None
    return parse_entry(text, path.stem)


def entry_path(entry_id: str, directory: Path | str | None = None) -> Path:
    """Where entry ``entry_id`` lives."""
    return registry_dir(directory) / f"{entry_id}.json"


def load_entry(entry_id: str, directory: Path | str | None = None) -> Entry:
    """The entry with id ``entry_id``.

    Raises:
        UnknownConjectureError: no such file (the message lists the known ids).
    """
    path = entry_path(entry_id, directory)
    if not path.is_file():
        raise UnknownConjectureError(entry_id, [p.stem for p in entry_paths(directory)])
    return read_entry_file(path)


def load_entries(directory: Path | str | None = None) -> list[Entry]:
    """Every entry of the folder, in id order (parsed, not validated)."""
    return [read_entry_file(p) for p in entry_paths(directory)]


def dumps(entry: Entry) -> str:
    """The file text of an entry (indented JSON, trailing newline)."""
    return json.dumps(entry, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_entry(entry: Entry, directory: Path | str | None = None, check: bool = True) -> Path:
    """Write ``entry`` to ``<directory>/<id>.json`` atomically, after checking it.

    Raises:
        EntryError: the entry is inconsistent (:func:`~steering_core.cprr.validate.check_entry`).
        AppendOnlyError: an existing file's history/evidence would not be extended unchanged.
    """
    folder = registry_dir(directory)
    entry_id = str(entry.get("id"))
    path = entry_path(entry_id, folder)
    if check:
        problems = check_entry(entry)
        if problems:
            raise EntryError(entry_id, problems)
        if path.exists():
            old = read_entry_file(path)
            problems = append_only_problems(old, entry)
            if problems:
                raise AppendOnlyError(entry_id, problems)
    return write_text_atomic(path, dumps(entry))


# --------------------------------------------------------------------------- git


def _git(folder: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, check=False, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def _relative(folder: Path) -> tuple[Path, str] | None:
    top = _git(folder, "rev-parse", "--show-toplevel")
    if top is None:
        return None
    root = Path(top.strip()).resolve()
    try:
        return root, folder.resolve().relative_to(root).as_posix()
    except ValueError:
        return None


def git_version(path: Path, ref: str = "HEAD") -> Entry | None:
    """The entry file ``path`` as committed at ``ref``; None outside git or when it is not there."""
    located = _relative(path.parent)
    if located is None:
        return None
    root, rel = located
    text = _git(root, "show", f"{ref}:{rel}/{path.name}" if rel != "." else f"{ref}:{path.name}")
    if text is None:
        return None
    return parse_entry(text, path.stem)


def git_entry_names(folder: Path, ref: str = "HEAD") -> list[str]:
    """File names of the entries committed in ``folder`` at ``ref`` (empty outside git)."""
    located = _relative(folder)
    if located is None:
        return []
    root, rel = located
    listing = _git(root, "ls-tree", "--name-only", ref, f"{rel}/" if rel != "." else ".")
    if listing is None:
        return []
    names = [Path(line).name for line in listing.splitlines() if line.strip()]
    return [n for n in names if n.endswith(".json") and not n.endswith(".schema.json")]
