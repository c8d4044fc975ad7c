"""The worker side: forward hooks that steer each token row of vLLM's flattened batch by its request.

vLLM mixes :class:`SteeringWorkerExtension` into its worker (``LLM(worker_extension_cls=...)``);
the driver calls its ``steering_*`` methods with ``collective_rpc``, so the hooks live in the
process that owns the model (in V1 that may be another process than the driver).

Mechanism (one engine step):

1. A forward pre-hook on the runner's model (the ``...ForCausalLM`` module; the decoder stack
   inside it is wrapped by vLLM's ``support_torch_compile``, whose ``__call__`` calls ``forward``
   directly, so hooks on that stack never fire) reads
   the runner's batch: ``input_batch.req_ids[:num_reqs]`` (request of each batch slot),
   ``query_start_loc`` (token rows ``[qsl[i], qsl[i+1])`` belong to slot ``i``), the
   ``positions`` argument of the forward (absolute token index of each row: ``num_computed_tokens
   + offset``, so chunked prefill and prefix-cache hits give true positions) and each request's
   ``num_prompt_tokens`` and ``sampling_params.extra_args``. For the steered requests of the batch
   it builds, per layer and per term slot ``k``, the rows to steer and their deltas. A batch
   without a steered request costs one dict lookup per request and nothing else.
2. A forward hook on each decoder layer: vLLM's layers return ``(hidden, residual)`` whose sum is
   the residual stream (the next layer's fused add-norm adds them). For the steered rows the hook
   computes the stream ``h = hidden + residual`` (the same float sum the next layer would compute),
   adds the term deltas in term order (``h + d_1``, then ``+ d_2`` ... as nested reference
   contexts do), and returns ``hidden' = h`` and ``residual' = 0`` for those rows; every other row
   keeps its tensors' bits. The sum the next layer sees is then exactly ``h``.

Positions: a row is in the prompt when its absolute position is ``< num_prompt_tokens``, else
generated (the reference core's rule), whatever the chunking.

The deltas are ``steering_core.ops.steering_delta(v, alpha, dtype)`` in the model's dtype, the
same rounding as the reference core. The hooks never raise inside vLLM's forward: a batch they
cannot read (an unexpected output type, inconsistent positions) is left unsteered and counted in
``anomalies``; the driver's start-up probe (see :mod:`steering_core.vllm.engine`) refuses to
steer unless the hooks steered exactly the expected rows.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from steering_core.vllm.config import EXTRA_KEY, tensor_digest


@dataclass
class _ReqPlan:
    """One request's compiled terms: per term, its positions and its deltas by layer."""

    tag: str | None
    terms: list[tuple[str, dict[int, torch.Tensor]]]


@dataclass
class _Step:
    """The current forward's work: per layer, the union of rows and the (local rows, delta) slots."""

    sel: dict[int, torch.Tensor] = field(default_factory=dict)
    ops: dict[int, list[tuple[torch.Tensor, torch.Tensor]]] = field(default_factory=dict)
    tags: dict[int, dict[str, int]] = field(default_factory=dict)


@dataclass
class _State:
    runner: Any
    base: nn.Module
    layers: nn.ModuleList
    dtype: torch.dtype
    hidden: int
    vectors: dict[str, dict[int, torch.Tensor]] = field(default_factory=dict)
    plans: dict[str, _ReqPlan | None] = field(default_factory=dict)
    step: _Step | None = None
    handles: list[Any] = field(default_factory=list)
    counters: dict[str, dict[int, int]] = field(default_factory=dict)
    steered_calls: int = 0
    forwards: int = 0
    hook_seconds: float = 0.0  # time spent inside our hooks (all of them, steering or not)
    forward_seconds: float = 0.0  # time of the model's forwards, hooks included
    forward_start: float = 0.0
    anomalies: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def anomaly(self, text: str) -> None:
        if len(self.anomalies) < 32:
            self.anomalies.append(text)


def _positions(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if "positions" in kwargs:
        return kwargs["positions"]
    return args[1] if len(args) > 1 else None  # forward(input_ids, positions, ...)


class SteeringWorkerExtension:
    """Methods vLLM adds to its worker class (``self`` is the worker: ``self.model_runner``)."""

    _steering: _State | None = None

    # ------------------------------------------------------------------ rpc: install / remove
    def steering_install(self, vocab_rows: int | None = None) -> dict[str, Any]:
        """Install the pre-hook and one hook per decoder layer (idempotent); the model's facts.

        Returns ``{"runner", "model", "num_layers", "hidden_size", "dtype", "embed_sha256"}``;
        ``embed_sha256`` hashes the token-embedding table so the driver can check that the served
        weights are the checkpoint its certified vectors were verified against (its first
        ``vocab_rows`` rows: vLLM may pad the table).
        """
        runner = self.model_runner  # type: ignore[attr-defined]
        for attr in ("input_batch", "query_start_loc", "requests", "model"):
            if not hasattr(runner, attr):
                raise RuntimeError(f"steering: the vLLM model runner {type(runner).__name__} has no {attr!r}")
        model = runner.model
        base = getattr(model, "model", None)
        layers = getattr(base, "layers", None)
        if not isinstance(base, nn.Module) or not isinstance(layers, nn.ModuleList):
            raise RuntimeError(f"steering: {type(model).__name__} has no model.layers decoder stack")
        param = next(model.parameters())
        table: Any = getattr(base, "embed_tokens", None)
        if table is None or not isinstance(getattr(table, "weight", None), torch.Tensor):
            raise RuntimeError(f"steering: {type(model).__name__}.model has no embed_tokens weight")
        embed = table.weight.detach().to("cpu")
        embed = (embed if vocab_rows is None else embed[:vocab_rows]).contiguous()
        facts = {
            "runner": f"{type(runner).__module__}.{type(runner).__name__}",
            "model": type(model).__name__,
            "num_layers": len(layers),
            "hidden_size": int(embed.shape[1]),
            "dtype": str(param.dtype).removeprefix("torch."),
            "embed_sha256": hashlib.sha256(embed.float().numpy().tobytes()).hexdigest(),
        }
        if self._steering is not None:
            return facts
        state = _State(runner, base, layers, param.dtype, int(embed.shape[1]))
        self._hook_up(state)
        self._steering = state
        return facts

    def _hook_up(self, state: _State) -> None:
        model = state.runner.model
        pre = self._pre_hook(state)

        def timed_pre(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            start = time.perf_counter()
            state.forward_start = start
            try:
                pre(module, args, kwargs)
            finally:
                state.hook_seconds += time.perf_counter() - start

        def post(_module: nn.Module, _args: tuple[Any, ...], _output: Any) -> None:
            if state.forward_start:
                state.forward_seconds += time.perf_counter() - state.forward_start
                state.forward_start = 0.0

        state.handles.append(model.register_forward_pre_hook(timed_pre, with_kwargs=True))
        state.handles.append(model.register_forward_hook(post))
        for index, layer in enumerate(state.layers):
            state.handles.append(layer.register_forward_hook(self._timed(state, self._layer_hook(state, index))))

    @staticmethod
    def _timed(state: _State, hook: Any) -> Any:
        def timed(module: nn.Module, args: tuple[Any, ...], output: Any) -> Any:
            start = time.perf_counter()
            try:
                return hook(module, args, output)
            finally:
                state.hook_seconds += time.perf_counter() - start

        return timed

    def steering_hooks(self, enabled: bool) -> int:
        """Remove (False) or reinstall (True) the hooks, keeping the registered vectors; hooks now installed.

        For measurements against stock vLLM in one engine: without hooks the model runs exactly
        as vLLM ships it, and steered requests are *not* steered, so only benchmarks use this.
        """
        state = self._require()
        if not enabled:
            for handle in state.handles:
                handle.remove()
            state.handles.clear()
            state.step = None
        elif not state.handles:
            self._hook_up(state)
        return len(state.handles)

    def steering_uninstall(self) -> int:
        """Remove every hook this extension installed; how many were removed."""
        state = self._steering
        if state is None:
            return 0
        try:
            for handle in state.handles:
                handle.remove()
            return len(state.handles)
        finally:
            self._steering = None

    # ------------------------------------------------------------------ rpc: vectors, stats
    def steering_register(self, digest: str, layers: dict[int, bytes], dtype: str, hidden_size: int) -> str:
        """Register a vector's per-layer directions under its content digest (checked here)."""
        state = self._require()
        if tensor_digest(layers, dtype, hidden_size) != digest:
            raise ValueError("steering: the vector's bytes do not match its digest")
        if hidden_size != state.hidden:
            raise ValueError(f"steering: vector width {hidden_size}, model width {state.hidden}")
        torch_dtype = getattr(torch, dtype)
        tensors = {}
        for layer, raw in layers.items():
            if not 0 <= int(layer) < len(state.layers):
                raise ValueError(f"steering: layer {layer} outside [0, {len(state.layers) - 1}]")
            tensors[int(layer)] = torch.frombuffer(bytearray(raw), dtype=torch_dtype).clone()
        with state.lock:
            state.vectors[digest] = tensors
        return digest

    def steering_stats(self, reset: bool = False) -> dict[str, Any]:
        """Counters: steered rows per tag and layer, hook calls that steered, forwards, anomalies."""
        state = self._require()
        with state.lock:
            out = {
                "counters": {tag: dict(c) for tag, c in state.counters.items()},
                "steered_calls": state.steered_calls,
                "forwards": state.forwards,
                "anomalies": list(state.anomalies),
                "vectors": len(state.vectors),
                "plans_cached": len(state.plans),
                "hook_seconds": state.hook_seconds,
                "forward_seconds": state.forward_seconds,
            }
            if reset:
                state.counters.clear()
                state.anomalies.clear()
                state.hook_seconds = state.forward_seconds = 0.0
        return out

    def steering_state_digest(self) -> str:
        """sha256 over every weight of the served model (name, dtype, shape, bytes) and the hook ids."""
        state = self._require()
        digest = hashlib.sha256()
        for name, tensor in state.runner.model.state_dict().items():
            data = tensor.detach().to("cpu").contiguous()
            digest.update(f"{name}|{data.dtype}|{tuple(data.shape)}|".encode())
            digest.update(data.reshape(-1).view(torch.uint8).numpy().tobytes() if data.numel() else b"")
        digest.update(repr([getattr(h, "id", None) for h in state.handles]).encode())
        return digest.hexdigest()

    # ------------------------------------------------------------------ hooks
    def _require(self) -> _State:
        if self._steering is None:
            raise RuntimeError("steering: steering_install was not called in this worker")
        return self._steering

    @staticmethod
    def _plan(state: _State, req_id: str) -> _ReqPlan | None:
        if req_id in state.plans:
            return state.plans[req_id]
        request = state.runner.requests.get(req_id)
        if request is None:  # not in the runner's states (never expected for a scheduled row): not cached
            state.anomaly(f"request {req_id}: scheduled but not in the runner's requests")
            return None
        params = getattr(request, "sampling_params", None)
        extra = getattr(params, "extra_args", None) or {}
        payload = extra.get(EXTRA_KEY) if isinstance(extra, dict) else None
        plan: _ReqPlan | None = None
        if payload is not None:
            # deferred: imports deal, icontract only when this runs, not at module import
            from steering_core.ops import steering_delta

            terms: list[tuple[str, dict[int, torch.Tensor]]] = []
            for term in payload.get("terms", []):
                vector = state.vectors.get(term["d"])
                if vector is None:  # the driver registers before it submits: never expected
                    state.anomaly(f"request {req_id}: unregistered vector {term['d'][:12]}")
                    continue
                alpha = float(term["a"])
                deltas = {int(layer): steering_delta(vector[int(layer)], alpha, state.dtype) for layer in term["l"]}
                terms.append((str(term["p"]), deltas))
            plan = _ReqPlan(payload.get("tag"), terms)
        if len(state.plans) > 4 * len(state.runner.requests) + 64:
            live = state.runner.requests
            for key in [k for k in state.plans if k not in live]:
                del state.plans[key]
        state.plans[req_id] = plan
        return plan

    @classmethod
    def _pre_hook(cls, state: _State) -> Any:
        def pre_hook(_module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            state.step = None
            state.forwards += 1
            batch = state.runner.input_batch
            n = int(batch.num_reqs)
            if n == 0:
                return None
            req_ids = batch.req_ids[:n]
            plans = [cls._plan(state, rid) if rid is not None else None for rid in req_ids]
            if not any(p is not None and (p.terms or p.tag) for p in plans):
                return None
            positions = _positions(args, kwargs)
            if not isinstance(positions, torch.Tensor) or positions.dim() != 1:
                state.anomaly("positions is not a 1-D tensor (M-RoPE or an unknown forward signature)")
                return None
            qsl = state.runner.query_start_loc.cpu[: n + 1].tolist()
            if qsl[0] != 0 or qsl[-1] > positions.shape[0] or any(b < a for a, b in itertools.pairwise(qsl)):
                state.anomaly(f"query_start_loc {qsl[:4]}... does not fit {positions.shape[0]} rows")
                return None
            computed = batch.num_computed_tokens_cpu
            pos = positions.to("cpu")
            step = _Step()
            rows_by: dict[tuple[int, int], list[torch.Tensor]] = {}
            deltas_by: dict[tuple[int, int], list[torch.Tensor]] = {}
            for slot, (rid, plan) in enumerate(zip(req_ids, plans, strict=True)):
                if plan is None:
                    continue
                start, stop = qsl[slot], qsl[slot + 1]
                if stop == start:
                    continue
                if int(pos[start]) != int(computed[slot]):
                    state.anomaly(f"request {rid}: position {int(pos[start])} != computed tokens {int(computed[slot])}")
                    continue
                prompt_len = int(state.runner.requests[rid].num_prompt_tokens)
                here = pos[start:stop]
                idx = torch.arange(start, stop)
                chosen = {
                    "all": idx,
                    "prompt": idx[here < prompt_len],
                    "generated": idx[here >= prompt_len],
                }
                for k, (mode, deltas) in enumerate(plan.terms):
                    rows = chosen[mode]
                    if rows.numel() == 0:
                        continue
                    for layer, delta in deltas.items():
                        rows_by.setdefault((layer, k), []).append(rows)
                        deltas_by.setdefault((layer, k), []).append(delta.expand(rows.numel(), -1))
                        if plan.tag is not None:
                            tags = step.tags.setdefault(layer, {})
                            tags[plan.tag] = tags.get(plan.tag, 0) + int(rows.numel())
            if not rows_by:
                return None
            device = positions.device
            for layer in sorted({layer for layer, _ in rows_by}):
                slots = sorted(k for lay, k in rows_by if lay == layer)
                rows_k = [torch.cat(rows_by[(layer, k)]) for k in slots]
                sel = torch.unique(torch.cat(rows_k))  # sorted
                step.sel[layer] = sel.to(device)
                ops = []
                for k, rows in zip(slots, rows_k, strict=True):
                    local = torch.searchsorted(sel, rows)
                    ops.append((local.to(device), torch.cat(deltas_by[(layer, k)]).to(device)))
                step.ops[layer] = ops
            state.step = step
            return None

        return pre_hook

    @staticmethod
    def _layer_hook(state: _State, index: int) -> Any:
        def layer_hook(_module: nn.Module, _args: tuple[Any, ...], output: Any) -> Any:
            step = state.step
            if step is None:
                return None
            ops = step.ops.get(index)
            if not ops:
                return None
            if not (
                isinstance(output, tuple)
                and len(output) == 2
                and isinstance(output[0], torch.Tensor)
                and isinstance(output[1], torch.Tensor)
                and output[0].shape == output[1].shape
            ):
                state.anomaly(f"layer {index}: output is not (hidden, residual)")
                return None
            hidden, residual = output
            sel = step.sel[index]
            stream = hidden.index_select(0, sel) + residual.index_select(0, sel)
            for local, delta in ops:
                stream = stream.index_copy(0, local, stream.index_select(0, local) + delta.to(stream.dtype))
            with state.lock:
                state.steered_calls += 1
                for tag, rows in step.tags.get(index, {}).items():
                    per = state.counters.setdefault(tag, {})
                    per[index] = per.get(index, 0) + rows
            return hidden.index_copy(0, sel, stream), residual.index_fill(0, sel, 0)

        return layer_hook
