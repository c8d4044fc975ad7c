"""The Ray executor: cells run on Ray actors that load each model once; the driver schedules.

Workers. ``workers`` Ray actors (default: the cluster's free CPUs divided by ``cpus_per_worker``),
each reserving ``cpus_per_worker`` CPUs and running a :class:`~steering_core.execute.worker.Worker`
with that many torch threads. An actor loads a model on its first cell and keeps it, so a grid
of hundreds of cells loads each model once per worker. The model is named in the cell (an
embedded name, an HF id in the workers' cache, or a folder that exists on every node).

Scheduling. The driver keeps at most ``in_flight`` cells queued on each actor (the next cell
is already there when one finishes), gives new cells to the least-loaded live actor, and yields
records as they finish. Nothing but the cell (a few KB: prompts, the vector's float32 bytes) and
the record travel; the object store is used only for those.

Failures. When an actor dies (killed, out of memory, node lost), every cell queued on it comes
back as :class:`ray.exceptions.RayActorError`; the driver starts a replacement actor and puts
those cells back at the front of the queue, so they run again on a live worker (the other
actors or the replacement), up to ``max_attempts`` times each. The driver's store counts a
digest once, so a retried cell is never counted twice. An exception *raised by the cell* (bad
input, unavailable model) is not retried: it stops the run with :class:`CellFailedError`.

Start-up. With ``address=None`` a private local Ray instance is started (``num_cpus``: this
machine's CPUs unless given; a small object store, :data:`DEFAULT_OBJECT_STORE_MB`), and shut
down by :meth:`RayExecutor.close`. With an address (``auto`` or ``HOST:PORT`` of an existing
cluster's head) the driver connects to it and leaves it running.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from steering_core.errors import InvalidParameterError
from steering_core.execute.cell import Cell
from steering_core.execute.errors import CellFailedError, ExecutionError, ExecutorUnavailableError
from steering_core.execute.worker import Worker

DEFAULT_OBJECT_STORE_MB = 128
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_IN_FLIGHT = 2
DEFAULT_START_TIMEOUT_S = 600.0

Dispatch = Callable[[Cell, str], None]


class RayCellWorker:
    """The body of a Ray actor: a :class:`Worker` that reports its pid."""

    def __init__(self, worker_id: str, threads: int) -> None:
        self.worker = Worker("ray", worker_id, threads=threads)

    def pid(self) -> int:
        """The actor's process id."""
        return os.getpid()

    def run(self, cell: Cell, attempt: int) -> dict[str, Any]:
        """Run one cell and return its record."""
        return self.worker.run(cell, attempt)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ExecutorUnavailableError(
            "the Ray executor needs Ray: pip install 'steering-spec[ray]' (ray==2.60.0)"
        ) from None
    return ray


class RayExecutor:
    """Runs cells on Ray actors (see the module docstring).

    Args:
        address: an existing cluster (``auto`` or ``HOST:PORT``); None starts a local instance.
        workers: number of actors (default: the cluster's free CPUs // ``cpus_per_worker``, at least 1).
        cpus_per_worker: CPUs each actor reserves (and its torch threads), >= 1.
        num_cpus: CPUs of a local instance (default: this machine's); ignored with an address.
        object_store_mb: object store of a local instance, in MiB (>= 80).
        max_attempts: attempts per cell when workers die, >= 1.
        in_flight: cells queued per actor at once, >= 1.
        on_dispatch: called with ``(cell, worker_id)`` each time a cell is sent to an actor.
        log: progress messages (worker deaths, retries).
        start_timeout_s: how long new actors may take to start (placement and imports; the model
            loads later, with the first cell) before :class:`ExecutorUnavailableError` says the
            cluster has too few free CPUs. An infrastructure limit, never a result.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        workers: int | None = None,
        cpus_per_worker: int = 1,
        num_cpus: int | None = None,
        object_store_mb: int = DEFAULT_OBJECT_STORE_MB,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        in_flight: int = DEFAULT_IN_FLIGHT,
        on_dispatch: Dispatch | None = None,
        log: Callable[[str], None] | None = None,
        start_timeout_s: float = DEFAULT_START_TIMEOUT_S,
    ) -> None:
        for label, value, low in (
            ("cpus_per_worker", cpus_per_worker, 1),
            ("max_attempts", max_attempts, 1),
            ("in_flight", in_flight, 1),
            ("object_store_mb", object_store_mb, 80),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InvalidParameterError(label, f"an int >= {low}", repr(value))
        ray = _import_ray()
        self._ray = ray
        self._owns_instance = False
        if not ray.is_initialized():
            env = {"env_vars": {"TRANSFORMERS_VERBOSITY": "error", "TOKENIZERS_PARALLELISM": "false"}}
            try:
                if address:
                    ray.init(address=address, runtime_env=env, log_to_driver=False, logging_level="warning")
                else:
                    ray.init(
                        num_cpus=num_cpus or os.cpu_count() or 1,
                        object_store_memory=object_store_mb * 1024 * 1024,
                        include_dashboard=False,
                        runtime_env=env,
                        log_to_driver=False,
                        logging_level="warning",
                    )
            except (ConnectionError, RuntimeError, ValueError) as error:
                where = f"at {address!r}" if address else "locally"
                raise ExecutorUnavailableError(f"could not start or reach Ray {where}: {error}") from None
            self._owns_instance = True
        cpus = float(ray.available_resources().get("CPU", 0.0))
        self._workers = int(workers) if workers is not None else max(1, int(cpus // cpus_per_worker))
        if self._workers < 1:
            raise ExecutionError(f"workers must be >= 1, got {workers}")
        self.cpus_per_worker = cpus_per_worker
        self.max_attempts = max_attempts
        self.in_flight = in_flight
        self.start_timeout_s = float(start_timeout_s)
        self.on_dispatch = on_dispatch
        self._log = log
        self._actor_cls = ray.remote(num_cpus=cpus_per_worker, max_restarts=0, max_task_retries=0)(RayCellWorker)
        self._actors: dict[str, Any] = {}
        self.pids: dict[str, int] = {}
        self._spawned = 0
        self.deaths = 0
        self.retries = 0

    @property
    def workers(self) -> int:
        """Number of actors that run cells at once."""
        return self._workers

    def _say(self, message: str) -> None:
        if self._log is not None:
            self._log(message)

    def _ensure_workers(self) -> None:
        """Start actors until there are ``workers`` live ones; wait until each reports its pid."""
        started: dict[str, Any] = {}
        while len(self._actors) < self._workers:
            worker_id = f"ray-{self._spawned}"
            self._spawned += 1
            actor = self._actor_cls.remote(worker_id, self.cpus_per_worker)
            self._actors[worker_id] = actor
            started[worker_id] = actor.pid.remote()
        if started:
            try:
                pids = self._ray.get(list(started.values()), timeout=self.start_timeout_s)
            except self._ray.exceptions.GetTimeoutError:
                free = self._ray.available_resources().get("CPU", 0.0)
                raise ExecutorUnavailableError(
                    f"{len(started)} Ray worker(s) did not start within {self.start_timeout_s:g} s: each needs "
                    f"{self.cpus_per_worker} CPU(s) and the cluster has {free:g} free; ask for fewer --workers"
                ) from None
            self.pids.update(dict(zip(started, (int(p) for p in pids), strict=True)))

    def _retire(self, worker_id: str) -> None:
        actor = self._actors.pop(worker_id, None)
        if actor is not None:
            self.deaths += 1
            self._say(f"worker {worker_id} died; starting a replacement")
            with contextlib.suppress(Exception):  # already gone
                self._ray.kill(actor, no_restart=True)

    def run(self, cells: Sequence[Cell]) -> Iterator[dict[str, Any]]:
        """Run every cell on the actors, yielding records as they finish (see the module docstring)."""
        ray = self._ray
        dead_errors = (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError)
        queue: deque[tuple[Cell, int]] = deque((cell, 1) for cell in cells)
        in_flight: dict[Any, tuple[str, Cell, int]] = {}
        load: dict[str, int] = {}
        while queue or in_flight:
            self._ensure_workers()
            for worker_id in self._actors:
                load.setdefault(worker_id, 0)
            while queue:
                live = sorted(self._actors, key=lambda w: (load[w], w))
                target = next((w for w in live if load[w] < self.in_flight), None)
                if target is None:
                    break
                cell, attempt = queue.popleft()
                ref = self._actors[target].run.remote(cell, attempt)
                in_flight[ref] = (target, cell, attempt)
                load[target] += 1
                if self.on_dispatch is not None:
                    self.on_dispatch(cell, target)
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in ready:
                worker_id, cell, attempt = in_flight.pop(ref)
                if worker_id in load:
                    load[worker_id] -= 1
                try:
                    record = ray.get(ref)
                except dead_errors as error:
                    self._retire(worker_id)
                    load.pop(worker_id, None)
                    if attempt >= self.max_attempts:
                        raise CellFailedError(cell.digest(), attempt, f"worker died ({type(error).__name__})") from None
                    self.retries += 1
                    self._say(f"cell {cell.digest()[:12]} lost with {worker_id}; retry {attempt + 1}")
                    queue.appendleft((cell, attempt + 1))
                    continue
                except ray.exceptions.RayTaskError as error:
                    cause = error.cause if getattr(error, "cause", None) is not None else error
                    raise CellFailedError(cell.digest(), attempt, f"{type(cause).__name__}: {cause}") from None
                yield record

    def close(self) -> None:
        """Kill the actors; shut the local instance down if this executor started it (idempotent)."""
        for worker_id in list(self._actors):
            actor = self._actors.pop(worker_id)
            with contextlib.suppress(Exception):
                self._ray.kill(actor, no_restart=True)
        if self._owns_instance and self._ray.is_initialized():
            self._ray.shutdown()
            self._owns_instance = False

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
