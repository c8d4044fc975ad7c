"""One thread owns a :class:`~steering_core.vllm.engine.SteeredLLM`; any thread submits requests.

vLLM's engine object is not thread-safe, so :class:`EngineLoop` runs it on its own thread:
requests submitted from any thread join the running batch at the next engine step (continuous
batching by vLLM's scheduler), each with its own steering; every token is reported through the
request's ``on_event`` callback (``("token", id)``, then ``("done", "stop" | "length" |
"cancelled")`` or ``("error", message)``), called on the loop thread.

Cancellation: :meth:`Handle.cancel` (or setting the event passed as ``cancelled``) makes the loop
abort the request at its next step; vLLM frees its KV blocks and batch slot
(``LLMEngine.abort_request``), and the handle ends with ``("done", "cancelled")``.

:meth:`EngineLoop.call` runs a function on the loop thread (vector registration uses it, since
``collective_rpc`` must not race an engine step).
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from steering_core.errors import InvalidParameterError
from steering_core.vllm.config import ResolvedTerm
from steering_core.vllm.engine import SteeredLLM

log = logging.getLogger("steering_core.vllm")
EventFn = Callable[[str, Any], None]
T = TypeVar("T")


def _ignore(_kind: str, _value: Any) -> None:
    return None


@dataclass(eq=False)
class Handle:
    """A submitted request: its id, tokens so far, finish reason and cancellation flag."""

    request_id: str
    engine_input: Any
    params: Any
    on_event: EventFn = _ignore
    cancelled: threading.Event = field(default_factory=threading.Event)
    tokens: list[int] = field(default_factory=list)
    finish_reason: str | None = None
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)
    submitted: float = field(default_factory=time.monotonic)

    def cancel(self) -> None:
        """Ask the loop to abort this request at its next step (idempotent, any thread)."""
        self.cancelled.set()

    def wait(self, timeout: float | None = None) -> list[int]:
        """Block until the request ended; its tokens. Raises RuntimeError on an engine error or timeout."""
        if not self.done.wait(timeout):
            raise TimeoutError(f"request {self.request_id} did not finish within {timeout} s")
        if self.error is not None:
            raise RuntimeError(f"request {self.request_id} failed: {self.error}")
        return list(self.tokens)


class EngineLoop:
    """Owns ``llm`` on one thread (see the module docstring).

    Args:
        llm: the engine; nothing else may call it once the loop runs.
        max_pending: most requests admitted at once; :meth:`submit` returns None beyond.
    """

    def __init__(self, llm: SteeredLLM, max_pending: int = 64) -> None:
        if isinstance(max_pending, bool) or not isinstance(max_pending, int) or max_pending < 1:
            raise InvalidParameterError("max_pending", "an int >= 1", repr(max_pending))
        self.llm = llm
        self.max_pending = max_pending
        self._cv = threading.Condition()
        self._incoming: deque[Handle] = deque()
        self._calls: deque[tuple[Callable[[], Any], Future[Any]]] = deque()
        self._running: dict[str, Handle] = {}
        self._admitted = 0
        self._stop = False
        self.steps = 0
        self.finished = 0
        self.aborted = 0
        self.errors = 0
        self.max_running_seen = 0
        self._thread = threading.Thread(target=self._run, name="steer-vllm-engine", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ any thread
    def submit(
        self,
        prompt_ids: Sequence[int],
        terms: Sequence[ResolvedTerm],
        max_tokens: int,
        on_event: EventFn | None = None,
        cancelled: threading.Event | None = None,
    ) -> Handle | None:
        """Queue one request; None (nothing queued) when ``max_pending`` requests are admitted.

        Raises:
            InvalidParameterError, SteeringUnavailableError: see :meth:`SteeredLLM.request`.
        """
        engine_input, params = self.llm.request(prompt_ids, tuple(terms), max_tokens)
        handle = Handle(f"steer-{uuid.uuid4().hex}", engine_input, params, on_event or _ignore)
        if cancelled is not None:
            handle.cancelled = cancelled
        with self._cv:
            if self._stop or self._admitted >= self.max_pending:
                return None
            self._admitted += 1
            self._incoming.append(handle)
            self._cv.notify()
        return handle

    def generate(
        self, requests: Sequence[tuple[Sequence[int], Sequence[ResolvedTerm]]], max_tokens: int, timeout: float = 3600
    ) -> list[list[int]]:
        """Submit every request, wait for all; their tokens in order (they share engine steps)."""
        handles: list[Handle] = []
        try:
            for ids, terms in requests:
                handle = self.submit(ids, terms, max_tokens)
                if handle is None:
                    raise InvalidParameterError("requests", f"at most {self.max_pending} in flight", len(requests))
                handles.append(handle)
            return [h.wait(timeout) for h in handles]
        finally:
            for h in handles:
                if not h.done.is_set():
                    h.cancel()

    def call(self, fn: Callable[[], T], timeout: float = 600) -> T:
        """Run ``fn`` on the loop thread between engine steps; its result (or its exception)."""
        future: Future[T] = Future()
        with self._cv:
            if self._stop:
                raise RuntimeError("the engine loop is closed")
            self._calls.append((fn, future))
            self._cv.notify()
        return future.result(timeout)

    def stats(self) -> dict[str, int]:
        """Counts for /health: admitted, running, waiting, steps, finished, aborted, errors."""
        with self._cv:
            return {
                "admitted": self._admitted,
                "running": len(self._running),
                "waiting": len(self._incoming),
                "decode_steps": self.steps,
                "finished": self.finished,
                "aborted": self.aborted,
                "engine_errors": self.errors,
                "max_rows_seen": self.max_running_seen,
            }

    def close(self, timeout: float = 60.0) -> None:
        """Stop the loop; requests still queued or running end with an error event."""
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        self._thread.join(timeout)

    # ------------------------------------------------------------------ loop thread
    def _emit(self, handle: Handle, kind: str, value: Any) -> None:
        try:
            handle.on_event(kind, value)
        except Exception:  # a consumer that went away must not stop the loop
            log.debug("vllm loop: event consumer failed", exc_info=True)

    def _finish(self, handle: Handle, reason: str, message: str = "") -> None:
        if handle.done.is_set():
            return
        handle.finish_reason = reason
        if reason == "error":
            handle.error = message or "engine error"
        with self._cv:
            self._admitted -= 1
            self._running.pop(handle.request_id, None)
            if reason == "cancelled":
                self.aborted += 1
            elif reason == "error":
                self.errors += 1
            else:
                self.finished += 1
        handle.done.set()
        self._emit(handle, "error" if reason == "error" else "done", handle.error if reason == "error" else reason)

    def _take_new(self) -> tuple[list[Handle], list[tuple[Callable[[], Any], Future[Any]]]]:
        with self._cv:
            while not self._stop and not self._incoming and not self._calls and not self._running:
                self._cv.wait(timeout=1.0)
            new = list(self._incoming)
            self._incoming.clear()
            calls = list(self._calls)
            self._calls.clear()
            return new, calls

    def _deliver(self, output: Any) -> None:
        handle = self._running.get(output.request_id)
        if handle is None:
            return
        tokens, reason = self.llm.tokens_of(output)
        for token in tokens[len(handle.tokens) :]:
            handle.tokens.append(token)
            self._emit(handle, "token", token)
        if output.finished:
            self._finish(handle, reason or "stop")

    def _run(self) -> None:
        while True:
            new, calls = self._take_new()
            for fn, future in calls:
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(fn())
                    except BaseException as error:
                        future.set_exception(error)
            if self._stop:
                break
            for handle in new:
                if handle.cancelled.is_set():
                    self._finish(handle, "cancelled")
                    continue
                try:
                    self.llm.add(handle.request_id, handle.engine_input, handle.params)
                    with self._cv:
                        self._running[handle.request_id] = handle
                except Exception as error:
                    log.error("vllm loop: add_request failed: %s", error)
                    self._finish(handle, "error", f"add_request failed: {type(error).__name__}: {error}")
            gone = [h for h in list(self._running.values()) if h.cancelled.is_set()]
            if gone:
                self.llm.abort([h.request_id for h in gone])
                for handle in gone:
                    self._finish(handle, "cancelled")
            if not self._running:
                continue
            try:
                outputs = self.llm.step()
                self.steps += 1
                self.max_running_seen = max(self.max_running_seen, len(self._running))
                for output in outputs:
                    self._deliver(output)
            except Exception as error:  # never a dead loop: the requests involved end with an error
                log.error("vllm loop: step failed: %s\n%s", error, traceback.format_exc())
                running = list(self._running.values())
                try:
                    self.llm.abort([h.request_id for h in running])
                except Exception:
                    log.debug("vllm loop: abort after a failed step failed", exc_info=True)
                for handle in running:
                    self._finish(handle, "error", f"engine step failed: {type(error).__name__}")
        with self._cv:
            leftover = [*self._running.values(), *self._incoming]
            self._incoming.clear()
        if leftover:
            try:
                self.llm.abort([h.request_id for h in leftover])
            except Exception:
                log.debug("vllm loop: abort at close failed", exc_info=True)
        for handle in leftover:
            self._finish(handle, "error", "the engine is shutting down")
