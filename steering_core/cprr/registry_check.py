"""``steer cprr check`` over a whole registry folder: every entry file, and the folder against git.

:func:`check_registry` reads each file through :mod:`.store` and checks it with
:mod:`.validate` (:func:`~.validate.check_entry`, :func:`~.validate.append_only_problems`); it
sits above both, so that :mod:`.store` can check an entry before writing it without an import
cycle.
"""

from __future__ import annotations

from pathlib import Path

from steering_core.cprr import store
from steering_core.cprr.errors import CprrError
from steering_core.cprr.validate import ProofChecker, append_only_problems, check_entry

__all__ = ["check_registry"]


def check_registry(
    directory: Path | None = None,
    against: str | None = "HEAD",
    deep: bool = False,
    proof_checker: ProofChecker | None = None,
) -> list[str]:
    """Problems of every entry file in ``directory`` (default: the shipped registry), prefixed with the file name.

    With ``against`` (a git ref), each file must also be an append-only extension of its version
    at that ref, and no entry committed there may be missing; skipped outside a git checkout.
    """
    folder = store.registry_dir(directory)
    problems: list[str] = []
    for path in store.entry_paths(folder):
        try:
            entry = store.read_entry_file(path)
        except CprrError as error:
            problems.append(f"{path.name}: {error}")
            continue
        if entry.get("id") != path.stem:
            problems.append(f"{path.name}: id {entry.get('id')!r} does not match the file name")
        problems += [f"{path.name}: {p}" for p in check_entry(entry, deep, proof_checker)]
        if against is not None:
            old = store.git_version(path, against)
            if old is not None:
                problems += [f"{path.name}: vs {against}: {p}" for p in append_only_problems(old, entry)]
    if against is not None:
        for name in store.git_entry_names(folder, against):
            if not (folder / name).exists():
                problems.append(f"{name}: committed at {against} but missing (entries are never deleted)")
    return problems
