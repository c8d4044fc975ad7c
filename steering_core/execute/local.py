"""The local executor: one worker in the driver's own process (today's behaviour, batched).

Cells run one after another in the order given, each answering its prompts ``batch_size`` at a
time (the same batched generation the commands always used). A model the caller already loaded
is passed in and reused, so a command never loads its model twice.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from steering_core.execute.cell import Cell
from steering_core.execute.worker import ModelLoader, Worker


def model_spec(loaded: Any) -> str:
    """The name a worker loads ``loaded`` by: an absolute path for a folder, else its name."""
    from pathlib import Path

    name = str(loaded.name)
    path = Path(name).expanduser()
    return str(path.resolve()) if path.exists() else name


def dtype_name(loaded: Any) -> str:
    """The dtype of ``loaded.model``'s parameters as a cell spells it (``float32``, ...)."""
    return str(next(loaded.model.parameters()).dtype).removeprefix("torch.")


def preload_key(loaded: Any) -> tuple[str, str]:
    """``(model_spec, dtype_name)``: the key a :class:`Worker` keeps ``loaded`` under."""
    return model_spec(loaded), dtype_name(loaded)


class LocalExecutor:
    """Runs cells in this process, in order (see the module docstring)."""

    name = "local"

    def __init__(
        self,
        preloaded: Sequence[Any] | Mapping[tuple[str, str], Any] = (),
        threads: int | None = None,
        loader: ModelLoader | None = None,
    ) -> None:
        models = dict(preloaded) if isinstance(preloaded, Mapping) else {preload_key(m): m for m in preloaded}
        self.worker = Worker("local", f"local:{socket.gethostname()}:{os.getpid()}", models, threads, loader)

    def adopt(self, loaded: Any) -> None:
        """Use the caller's already loaded model for cells that name it (no second copy)."""
        self.worker.adopt(preload_key(loaded), loaded)

    @property
    def workers(self) -> int:
        """Always 1."""
        return 1

    def run(self, cells: Sequence[Cell]) -> Iterator[dict[str, Any]]:
        """Run the cells in order, yielding each record when it finishes."""
        for cell in cells:
            yield self.worker.run(cell)

    def close(self) -> None:
        """Nothing to release (the models belong to the caller or die with the process)."""

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
