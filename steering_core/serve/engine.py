"""The batching engine of ``steer serve``: one thread owns the model, requests share forward passes.

Continuous batching with per-request KV caches merged by left padding:

1. The requests admitted together are *prefilled together*: one forward pass over their
   prompts, left-padded to the longest (padding is masked, never steered, and each row's
   position ids start at 0 at its first real token, as :func:`steering_core.generate.generate`
   numbers a left-padded batch), each row under its own plan through
   :func:`steering_core.steer.steer_rows`. That gives each its first token and its KV cache.
   One request arriving alone is prefilled alone (batch 1: the same first forward pass that
   ``generate`` runs for it). Prefilling a group costs far less than one pass per prompt (the
   matrix products get more rows).
2. They *join* the running batch at the next decode step: their cache is concatenated to the
   batch cache along the batch dimension, the shorter side left-padded with masked slots (the
   2-D attention mask is 0 there, so those slots get probability exactly 0), and each row keeps
   its own position ids.
3. Each *decode step* feeds every running row its last token in one forward pass, inside
   :func:`steering_core.steer.steer_rows` with each row's compiled plan (None for plain rows:
   their bits are untouched). Greedy: the next token is the argmax of the last logits.
4. A row that emitted an end-of-sequence token, reached its ``max_new_tokens``, or was
   cancelled (client gone, timeout) *leaves* after the step: the cache keeps the other rows,
   and columns that are padding for every remaining row are trimmed.

Equality: each row computes what the request computes alone, except that matrix products run
with another batch shape (CPU kernels may round differently by shape). Greedy tokens equal those
of ``generate`` run alone; the tests check that on every request.

Thread model: :meth:`Engine.submit` may be called from any thread; events are delivered through
the job's ``on_event`` callback on the engine thread (``("token", id)``, then ``("done",
reason)`` or ``("error", message)``). Only the engine thread runs the model.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import inspect
import logging
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

from steering_core.errors import InvalidParameterError, UnsupportedModelError
from steering_core.generate import eos_token_ids
from steering_core.plan import CompiledPlan
from steering_core.steer import steer_rows

log = logging.getLogger("steering_core.serve")

EventFn = Callable[[str, Any], None]
_PROCESSOR_FIELDS = (
    ("repetition_penalty", (None, 1.0)),
    ("no_repeat_ngram_size", (None, 0)),
    ("encoder_no_repeat_ngram_size", (None, 0)),
    ("bad_words_ids", (None,)),
    ("forced_bos_token_id", (None,)),
    ("forced_eos_token_id", (None,)),
    ("suppress_tokens", (None,)),
    ("begin_suppress_tokens", (None,)),
    ("sequence_bias", (None,)),
    ("exponential_decay_length_penalty", (None,)),
)


@dataclass(eq=False)
class Job:
    """One request: prompt token ids, its compiled plan (None: plain) and its token budget."""

    prompt_ids: list[int]
    plan: CompiledPlan | None
    max_new_tokens: int
    on_event: EventFn
    tokens: list[int] = field(default_factory=list)
    finish_reason: str | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    submitted: float = field(default_factory=time.monotonic)

    def cancel(self) -> None:
        """Ask the engine to drop this job at its next step (idempotent, any thread)."""
        self.cancelled.set()


def check_servable(model: nn.Module) -> None:
    """Refuse models this engine cannot batch exactly (non-full-attention caches, logits processors).

    Raises:
        UnsupportedModelError: naming what is not supported.
    """
    config = getattr(model, "config", None)
    if config is None:
        raise UnsupportedModelError("serve: the model has no config")
    layers = DynamicCache(config=config).layers
    odd = sorted({type(layer).__name__ for layer in layers if type(layer) is not DynamicLayer})
    if odd:
        raise UnsupportedModelError(f"serve: only full-attention KV caches can be merged; this model uses {odd}")
    gen = getattr(model, "generation_config", None)
    for name, neutral in _PROCESSOR_FIELDS:
        value = getattr(gen, name, None)
        if value not in neutral:
            raise UnsupportedModelError(
                f"serve: the model's generation_config sets {name}={value!r}; the engine decodes plain greedy only"
            )


def release_free_memory() -> bool:
    """Hand freed heap pages back to the OS (glibc ``malloc_trim(0)``); False where unavailable.

    After a burst (a large group prefill, many KV caches), the C allocator keeps the freed pages
    of the peak mapped, so the process's RSS stays at its high-water mark. The engine calls this
    once each time it goes idle, so the server's memory returns to its baseline between bursts.
    Costs milliseconds; never raises.
    """
    global _TRIM
    if _TRIM is None:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _TRIM = libc.malloc_trim
            _TRIM.argtypes = [ctypes.c_size_t]
            _TRIM.restype = ctypes.c_int
        except (OSError, AttributeError):  # not glibc (musl, macOS, Windows): nothing to trim
            _TRIM = False
    if _TRIM is False:
        return False
    _TRIM(0)
    return True


_TRIM: Any = None


def _kv(cache: Any) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(layer.keys, layer.values) for layer in cache.layers]


def _cache(tensors: list[tuple[torch.Tensor, torch.Tensor]]) -> Any:
    return DynamicCache(ddp_cache_data=tensors)


def _left_pad(t: torch.Tensor, n: int) -> torch.Tensor:
    """Left-pad the sequence axis (-2 for K/V, -1 for masks) of ``t`` with ``n`` zero slots."""
    if n == 0:
        return t
    if t.dim() == 2:
        return torch.cat([t.new_zeros((t.shape[0], n)), t], dim=1)
    shape = list(t.shape)
    shape[-2] = n
    return torch.cat([t.new_zeros(shape), t], dim=-2)


class _Batch:
    """The running rows: their jobs, merged KV cache, 2-D mask, next position and last token."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []
        self.kv: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.cache: Any = None
        self.mask = torch.zeros((0, 0), dtype=torch.long)
        self.positions = torch.zeros(0, dtype=torch.long)
        self.last = torch.zeros(0, dtype=torch.long)

    def __len__(self) -> int:
        return len(self.jobs)

    def kv_bytes(self) -> int:
        if self.cache is None:
            return 0
        return sum(k.numel() * k.element_size() + v.numel() * v.element_size() for k, v in _kv(self.cache))

    def add(
        self,
        jobs: list[Job],
        kv: list[tuple[torch.Tensor, torch.Tensor]],
        mask: torch.Tensor,
        positions: torch.Tensor,
        last: torch.Tensor,
    ) -> None:
        """Append the rows of a prefilled group: its KV (rows, heads, width, dim), 2-D mask (rows, width),
        next position per row and last token per row."""
        if not self.jobs:
            merged = kv
        else:
            current = _kv(self.cache)
            width = max(self.mask.shape[1], mask.shape[1])
            merged = [
                (
                    torch.cat([_left_pad(k, width - k.shape[-2]), _left_pad(nk, width - nk.shape[-2])], dim=0),
                    torch.cat([_left_pad(v, width - v.shape[-2]), _left_pad(nv, width - nv.shape[-2])], dim=0),
                )
                for (k, v), (nk, nv) in zip(current, kv, strict=True)
            ]
            mask = torch.cat(
                [_left_pad(self.mask, width - self.mask.shape[1]), _left_pad(mask, width - mask.shape[1])], dim=0
            )
        self.jobs.extend(jobs)
        self.cache = _cache(merged)
        self.mask = mask
        self.positions = torch.cat([self.positions, positions])
        self.last = torch.cat([self.last, last])

    def keep(self, rows: list[int]) -> None:
        if len(rows) == len(self.jobs):
            return
        if not rows:
            self.__init__()  # type: ignore[misc]
            return
        index = torch.tensor(rows, dtype=torch.long)
        mask = self.mask[index]
        used = (mask.sum(dim=0) > 0).nonzero()
        start = int(used[0]) if used.numel() else 0
        kv = [(k[index, :, start:], v[index, :, start:]) for k, v in _kv(self.cache)]
        self.jobs = [self.jobs[i] for i in rows]
        self.cache = _cache([(k.contiguous(), v.contiguous()) for k, v in kv])
        self.mask = mask[:, start:].contiguous()
        self.positions = self.positions[index]
        self.last = self.last[index]


class Engine:
    """Owns ``model`` on one thread and runs every submitted :class:`Job` with continuous batching.

    Args:
        model: a causal LM accepted by :func:`check_servable`, in eval mode.
        tokenizer: its tokenizer (for the EOS ids).
        max_batch: most rows decoded together in one forward pass.
        max_pending: most jobs admitted at once (running + waiting); :meth:`submit` refuses more.
    """

    def __init__(self, model: nn.Module, tokenizer: Any, max_batch: int = 16, max_pending: int = 64) -> None:
        for name, value, low in (("max_batch", max_batch, 1), ("max_pending", max_pending, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InvalidParameterError(name, f"an int >= {low}", repr(value))
        check_servable(model)
        self.model = model
        self.eos = eos_token_ids(tokenizer, model)
        self.max_batch = max_batch
        self.max_pending = max_pending
        params = inspect.signature(model.forward).parameters
        self._keep_logits = "logits_to_keep" in params
        self._cache_kw = "cache" if "cache" in params else "past_key_values"
        self._cv = threading.Condition()
        self._pending: deque[Job] = deque()
        self._admitted = 0
        self._batch = _Batch()
        self._stop = False
        self.steps = 0
        self.prefills = 0
        self.prefill_passes = 0
        self.trims = 0
        self._since_trim = False
        self.errors = 0
        self.max_rows_seen = 0
        self._thread = threading.Thread(target=self._run, name="steer-serve-engine", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ public, any thread
    def submit(self, job: Job) -> bool:
        """Queue ``job``; False (nothing queued) when ``max_pending`` jobs are already admitted."""
        with self._cv:
            if self._stop or self._admitted >= self.max_pending:
                return False
            self._admitted += 1
            self._pending.append(job)
            self._cv.notify()
        return True

    def stats(self) -> dict[str, int]:
        """Counts for /health: admitted, running, waiting, KV-cache bytes, steps, prefills (jobs and passes), errors."""
        with self._cv:
            return {
                "admitted": self._admitted,
                "running": len(self._batch),
                "waiting": len(self._pending),
                "kv_cache_bytes": self._batch.kv_bytes(),
                "decode_steps": self.steps,
                "prefills": self.prefills,
                "prefill_passes": self.prefill_passes,
                "memory_trims": self.trims,
                "trim_pending": int(self._since_trim),
                "engine_errors": self.errors,
                "max_rows_seen": self.max_rows_seen,
            }

    def close(self, timeout: float = 30.0) -> None:
        """Stop the engine thread; queued and running jobs end with an error event."""
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        self._thread.join(timeout)

    # ------------------------------------------------------------------ engine thread
    def _emit(self, job: Job, kind: str, value: Any) -> None:
        try:
            job.on_event(kind, value)
        except Exception:  # a consumer that went away must not stop the engine
            log.debug("serve: event consumer failed", exc_info=True)

    def _finish(self, job: Job, reason: str, message: str = "") -> None:
        if job.finish_reason is not None:
            return
        job.finish_reason = reason
        with self._cv:
            self._admitted -= 1
        if reason == "error":
            self._emit(job, "error", message or "internal error")
        else:
            self._emit(job, "done", reason)

    def _steering(self, plans: list[CompiledPlan | None]) -> AbstractContextManager[Any]:
        return steer_rows(self.model, plans) if any(p is not None for p in plans) else nullcontext()

    def _forward(self, cache: Any, **kwargs: Any) -> torch.Tensor:
        kwargs[self._cache_kw] = cache
        if self._keep_logits:
            kwargs["logits_to_keep"] = 1
        out = self.model(use_cache=True, **kwargs)
        logits: torch.Tensor = out.logits[:, -1, :]
        return logits

    def _take(self, job: Job, token: int) -> str | None:
        """Record ``token`` for ``job``: "stop" at EOS (not kept), "length" at the budget, else None."""
        if token in self.eos:
            return "stop"
        job.tokens.append(token)
        self._emit(job, "token", token)
        return "length" if len(job.tokens) >= job.max_new_tokens else None

    def _prefill(self, jobs: list[Job]) -> None:
        """Prefill ``jobs`` in one left-padded forward pass; the unfinished ones join the batch."""
        lengths = [len(job.prompt_ids) for job in jobs]
        width = max(lengths)
        ids = torch.zeros((len(jobs), width), dtype=torch.long)
        mask = torch.zeros((len(jobs), width), dtype=torch.long)
        for row, job in enumerate(jobs):
            ids[row, width - lengths[row] :] = torch.tensor(job.prompt_ids, dtype=torch.long)
            mask[row, width - lengths[row] :] = 1
        # Position ids as generate() numbers a left-padded batch: 0 at the first real token.
        position_ids = (mask.cumsum(dim=1) - 1).clamp(min=0)
        cache = DynamicCache()
        with self._steering([job.plan for job in jobs]):
            logits = self._forward(input_ids=ids, attention_mask=mask, position_ids=position_ids, cache=cache)
        self.prefills += len(jobs)
        self.prefill_passes += 1
        tokens = logits.argmax(dim=-1)
        keep: list[int] = []
        for row, job in enumerate(jobs):
            reason = self._take(job, int(tokens[row]))
            if reason is not None:
                self._finish(job, reason)
            else:
                keep.append(row)
        if not keep:
            return
        index = torch.tensor(keep, dtype=torch.long)
        kv = [(k[index], v[index]) for k, v in _kv(cache)]
        self._batch.add(
            [jobs[i] for i in keep], kv, mask[index], torch.tensor([lengths[i] for i in keep]), tokens[index]
        )

    def _decode(self) -> None:
        batch = self._batch
        rows = len(batch)
        width = batch.mask.shape[1]
        mask = torch.cat([batch.mask, torch.ones((rows, 1), dtype=torch.long)], dim=1)
        with self._steering([job.plan for job in batch.jobs]):
            logits = self._forward(
                input_ids=batch.last.view(rows, 1),
                attention_mask=mask,
                position_ids=batch.positions.view(rows, 1),
                cache=batch.cache,
                cache_position=torch.tensor([width]),
            )
        self.steps += 1
        self.max_rows_seen = max(self.max_rows_seen, rows)
        batch.mask = mask
        batch.positions = batch.positions + 1
        nxt = logits.argmax(dim=-1)
        keep: list[int] = []
        for row, job in enumerate(batch.jobs):
            if job.cancelled.is_set():
                self._finish(job, "cancelled")
                continue
            reason = self._take(job, int(nxt[row]))
            if reason is not None:
                self._finish(job, reason)
            else:
                keep.append(row)
        batch.last = nxt.to(torch.long)
        batch.keep(keep)

    def _admit(self) -> list[Job]:
        with self._cv:
            while not self._stop and not self._pending and not len(self._batch):
                self._cv.wait(timeout=1.0)
            taken: list[Job] = []
            while self._pending and len(self._batch) + len(taken) < self.max_batch:
                taken.append(self._pending.popleft())
            return taken

    def _drop_cancelled(self) -> None:
        keep: list[int] = []
        for row, job in enumerate(self._batch.jobs):
            if job.cancelled.is_set():
                self._finish(job, "cancelled")
            else:
                keep.append(row)
        self._batch.keep(keep)

    def _failed(self, where: str, error: Exception, jobs: list[Job]) -> None:
        self.errors += 1
        log.error("serve: %s failed: %s\n%s", where, error, traceback.format_exc())
        for job in jobs:
            self._finish(job, "error", f"{where} failed: {type(error).__name__}")

    def _run(self) -> None:
        with torch.inference_mode():
            while True:
                new = self._admit()
                if self._stop:
                    with self._cv:
                        self._pending.extendleft(reversed(new))
                    break
                # Never a dead worker: a failure ends the jobs involved and the engine keeps serving.
                group: list[Job] = []
                for job in new:
                    if job.cancelled.is_set():
                        self._finish(job, "cancelled")
                    else:
                        group.append(job)
                if group:
                    self._since_trim = True
                    try:
                        self._prefill(group)
                    except Exception as error:
                        if len(group) == 1:
                            self._failed("prefill", error, group)
                        else:  # isolate the culprit: one bad request must not fail the others
                            log.warning("serve: group prefill failed (%s); prefilling one by one", error)
                            for job in group:
                                if job.finish_reason is not None or job.tokens:
                                    self._failed("prefill", error, [job])  # it had started: never run twice
                                    continue
                                try:
                                    self._prefill([job])
                                except Exception as single:
                                    self._failed("prefill", single, [job])
                try:
                    self._drop_cancelled()
                    if len(self._batch):
                        self._decode()
                except Exception as error:
                    jobs = list(self._batch.jobs)
                    self._batch = _Batch()
                    self._failed("decode step", error, jobs)
                if self._since_trim and not len(self._batch):
                    with self._cv:
                        idle = not self._pending
                    if idle:  # the burst is over: give its peak memory back
                        trimmed = release_free_memory()
                        with self._cv:  # /health sees the trim done and counted together
                            self._since_trim = False
                            self.trims += trimmed
        with self._cv:
            leftover = list(self._pending)
            self._pending.clear()
        for job in [*self._batch.jobs, *leftover]:
            self._finish(job, "error", "the server is shutting down")
        self._batch = _Batch()
