"""The driver side: a vLLM ``LLM`` with steering hooks in its workers, a vector registry and a probe.

:class:`SteeredLLM` starts stock vLLM (no fork) with
``worker_extension_cls="steering_core.vllm.worker.SteeringWorkerExtension"``, installs the hooks
in every worker (``collective_rpc``), checks that the served weights are the checkpoint of the
reference model (same layer count and width, same token-embedding bytes), and then runs a
*probe*: a batch holding three steered requests (positions ``all``, ``prompt`` and
``generated``) and a plain one. Steering is enabled only if the hooks steered exactly the
expected rows at every decoder layer (``all``: prompt length + decode steps; ``prompt``: prompt
length; ``generated``: decode steps) and reported no anomaly. A mode in which the hooks do not
run (a compiled or CUDA-graph model) therefore raises :class:`SteeringUnavailableError` at start
instead of serving unsteered answers.

Vectors are registered once in the workers under their content digest
(:func:`steering_core.vllm.config.tensor_digest`); certified vectors are loaded only after
:func:`steering_core.certify.load_certified` verified them against the reference model loaded
from the same folder vLLM serves (fingerprint and re-measured ratio).

Every steered request carries a ``cache_salt`` derived from its whole steering configuration
(:func:`steering_core.vllm.config.cache_salt`), so the prefix cache never hands a request KV
computed under other steering.

Single-threaded object: :meth:`add`, :meth:`step` and :meth:`abort` must be called from one
thread (:class:`steering_core.vllm.loop.EngineLoop` owns it for concurrent use).
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from steering_core.certify import load_certified
from steering_core.errors import InvalidParameterError, SteeringError
from steering_core.models import LoadedModel
from steering_core.prompts import encode
from steering_core.vector import SteeringVector
from steering_core.vllm.config import (
    ResolvedTerm,
    SteerTerm,
    VectorRef,
    cache_salt,
    extra_args,
    resolve_terms,
    tensor_digest,
)

log = logging.getLogger("steering_core.vllm")

WORKER_EXTENSION = "steering_core.vllm.worker.SteeringWorkerExtension"
# Settings measured to work on CPU hosts (2 cores, no GPU); each is only a default.
ENV_DEFAULTS: dict[str, str] = {
    "VLLM_CPU_KVCACHE_SPACE": "1",
    "VLLM_CPU_OMP_THREADS_BIND": "nobind",
    "HF_HUB_OFFLINE": "1",
    "VLLM_NO_USAGE_STATS": "1",
    "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
    "VLLM_USE_V2_MODEL_RUNNER": "0",
}
PROBE_NAME = "__steering_probe__"
PROBE_TOKENS = 3


class SteeringUnavailableError(SteeringError, RuntimeError):
    """The engine cannot prove that its steering hooks run: it refuses to steer."""


@dataclass(frozen=True)
class Completion:
    """One finished request: new token ids (cut before the first end-of-sequence) and why it ended."""

    request_id: str
    tokens: list[int]
    finish_reason: str
    cached_tokens: int = 0


def apply_env_defaults() -> None:
    """Set :data:`ENV_DEFAULTS` where the environment does not already say otherwise."""
    for key, value in ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)


def _bytes_of(vector: SteeringVector) -> tuple[dict[int, bytes], str]:
    dtype = str(vector.dtype).removeprefix("torch.")
    layers = {
        layer: t.detach().to("cpu").contiguous().view(torch.uint8).numpy().tobytes()
        for layer, t in vector.directions.items()
    }
    return layers, dtype


def eos_ids(loaded: LoadedModel) -> list[int]:
    """End-of-sequence ids as the reference core uses them (tokenizer and generation config)."""
    ids: set[int] = set()
    for source in (
        getattr(loaded.tokenizer, "eos_token_id", None),
        getattr(getattr(loaded.model, "generation_config", None), "eos_token_id", None),
    ):
        if isinstance(source, int):
            ids.add(source)
        elif isinstance(source, (list, tuple)):
            ids.update(int(x) for x in source)
    return sorted(ids)


class SteeredLLM:
    """Stock vLLM with per-request steering (see the module docstring).

    Args:
        reference: the model loaded with :func:`steering_core.models.load_model` from the folder
            vLLM will serve (``reference.source``); its tokenizer, EOS ids and fingerprint are used.
        dtype: vLLM's dtype (``float32`` matches the reference core on CPU).
        max_model_len, max_num_seqs, max_num_batched_tokens: vLLM limits (a small
            ``max_num_batched_tokens`` forces chunked prefill).
        enable_prefix_caching: vLLM's prefix cache (steered requests are salted either way).
        enforce_eager: must stay True on CPU for the hooks to run; with False the probe decides.
        probe: run the start-up probe (always True outside tests of the probe itself).
        llm_kwargs: passed to ``vllm.LLM``.

    Raises:
        SteeringUnavailableError: the probe did not see the hooks steer the expected rows, or the
            served weights are not the reference's.
    """

    def __init__(
        self,
        reference: LoadedModel,
        *,
        dtype: str = "float32",
        max_model_len: int = 512,
        max_num_seqs: int = 16,
        max_num_batched_tokens: int | None = None,
        enable_prefix_caching: bool = True,
        enforce_eager: bool = True,
        seed: int = 0,
        probe: bool = True,
        **llm_kwargs: Any,
    ) -> None:
        apply_env_defaults()
        from vllm import LLM

        folder = Path(reference.source)
        if not (folder / "config.json").is_file():
            raise InvalidParameterError(
                "reference", "a model loaded from a local folder (its source)", reference.source
            )
        self.reference = reference
        self.folder = folder
        self.max_model_len = max_model_len
        self.eos = eos_ids(reference)
        kwargs: dict[str, Any] = {
            "model": str(folder),
            "tokenizer": str(folder),
            "dtype": dtype,
            "enforce_eager": enforce_eager,
            "max_model_len": max_model_len,
            "max_num_seqs": max_num_seqs,
            "enable_prefix_caching": enable_prefix_caching,
            "enable_chunked_prefill": True,
            "worker_extension_cls": WORKER_EXTENSION,
            "generation_config": "vllm",
            "seed": seed,
        }
        if max_num_batched_tokens is not None:
            kwargs["max_num_batched_tokens"] = max_num_batched_tokens
        kwargs.update(llm_kwargs)
        self.llm = LLM(**kwargs)
        self.engine = self.llm.llm_engine
        rows = int(reference.model.get_input_embeddings().weight.shape[0])
        self.registry: dict[str, VectorRef] = {}
        self._registered: set[str] = set()
        self.steering_enabled = False
        self.probe_report: dict[str, Any] = {}
        try:
            self.facts = self.llm.collective_rpc("steering_install", args=(rows,))[0]
            self._check_same_weights()
            if probe:
                self.probe()
        except BaseException:
            self.close()  # an engine that may not steer is not left running behind the error
            raise

    # ------------------------------------------------------------------ identity
    def _check_same_weights(self) -> None:
        facts = self.facts
        ref = self.reference
        if facts["num_layers"] != ref.num_layers or facts["hidden_size"] != ref.hidden_size:
            raise SteeringUnavailableError(
                f"steering: vLLM serves {facts['num_layers']} layers of width {facts['hidden_size']}, the reference "
                f"has {ref.num_layers} of width {ref.hidden_size}"
            )
        embed = ref.model.get_input_embeddings().weight.detach().to("cpu").contiguous()
        mine = hashlib.sha256(embed.float().numpy().tobytes()).hexdigest()
        if mine != facts["embed_sha256"]:
            raise SteeringUnavailableError(
                "steering: the token embeddings vLLM serves differ from the reference model's: "
                "certified vectors verified against the reference would not describe the served model"
            )

    # ------------------------------------------------------------------ vectors
    def register(self, name: str, vector: SteeringVector) -> VectorRef:
        """Register ``vector`` in every worker (once per content) and name it ``name``.

        Raises:
            InvalidParameterError: an empty or reserved name, a name already bound to other
                content, a vector of another width or with layers outside the model.
        """
        if not isinstance(name, str) or not name or name == PROBE_NAME:
            raise InvalidParameterError("name", "a non-empty vector name", repr(name))
        if not isinstance(vector, SteeringVector):
            raise InvalidParameterError("vector", "a SteeringVector", type(vector).__name__)
        if vector.hidden_size != self.facts["hidden_size"]:
            raise InvalidParameterError("vector", f"width {self.facts['hidden_size']}", vector.hidden_size)
        bad = [layer for layer in vector.layer_indices if layer >= self.facts["num_layers"]]
        if bad:
            raise InvalidParameterError("vector", f"layers in [0, {self.facts['num_layers'] - 1}]", bad)
        ref = self._register_content(name, vector)
        old = self.registry.get(name)
        if old is not None and old.digest != ref.digest:
            raise InvalidParameterError("name", f"a name not bound to another vector ({name!r} is)", repr(name))
        self.registry[name] = ref
        return ref

    def _register_content(self, name: str, vector: SteeringVector) -> VectorRef:
        layers, dtype = _bytes_of(vector)
        digest = tensor_digest(layers, dtype, vector.hidden_size)
        if digest not in self._registered:
            self.llm.collective_rpc("steering_register", args=(digest, layers, dtype, vector.hidden_size))
            self._registered.add(digest)
        return VectorRef(name, digest, tuple(vector.layer_indices), vector.hidden_size)

    def register_tensors(self, layers: dict[int, torch.Tensor]) -> VectorRef:
        """Register raw per-layer directions (anonymous, named by digest): what a compiled plan holds."""
        width = int(next(iter(layers.values())).shape[-1])
        vector = SteeringVector(directions=dict(layers), hidden_size=width, num_layers=self.facts["num_layers"])
        return self._register_content("", vector)

    def register_certified(self, name: str, path: str | os.PathLike[str], public_key: bytes | None = None) -> VectorRef:
        """Verify the certified file against the reference (fingerprint, ratio, signature), then register it.

        Raises:
            CertificateError: the first failed check (see :func:`steering_core.certify.load_certified`).
        """
        vector = load_certified(path, model=self.reference, public_key=public_key)
        return self.register(name, vector)

    def resolve(self, terms: Sequence[SteerTerm], name: str = "steering") -> tuple[ResolvedTerm, ...]:
        """Check named terms against the registry (see :func:`steering_core.vllm.config.resolve_terms`)."""
        return resolve_terms(terms, self.registry, name)

    # ------------------------------------------------------------------ requests
    def encode(self, prompt: str, chat: bool = True) -> list[int]:
        """The reference core's token ids for one prompt (chat template, no padding)."""
        batch = encode(self.reference.tokenizer, [prompt], chat=chat)
        return [int(t) for t in batch.input_ids[0].tolist()]

    def request(
        self,
        prompt_ids: Sequence[int],
        terms: Sequence[ResolvedTerm],
        max_tokens: int,
        tag: str | None = None,
        salt: str | None = None,
        min_tokens: int = 0,
    ) -> tuple[Any, Any]:
        """The engine input (token ids with the cache salt) and sampling parameters of one request.

        Raises:
            SteeringUnavailableError: ``terms`` is not empty and steering was not enabled by the probe.
            InvalidParameterError: no prompt token, or ``prompt + max_tokens`` beyond ``max_model_len``.
        """
        from vllm import SamplingParams
        from vllm.inputs.engine import tokens_input

        if terms and not self.steering_enabled and tag is None:
            raise SteeringUnavailableError("steering: the start-up probe did not enable steering on this engine")
        ids = [int(t) for t in prompt_ids]
        if not ids:
            raise InvalidParameterError("prompt", "at least one token", "none")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise InvalidParameterError("max_tokens", "an int >= 1", repr(max_tokens))
        if len(ids) + max_tokens > self.max_model_len:
            raise InvalidParameterError(
                "max_tokens", f"prompt + max_tokens <= {self.max_model_len}", f"{len(ids)} + {max_tokens}"
            )
        params = SamplingParams(
            max_tokens=max_tokens,
            min_tokens=min_tokens,
            temperature=0.0,
            stop_token_ids=list(self.eos),
            extra_args=extra_args(terms, tag),
            detokenize=False,
        )
        return tokens_input(ids, cache_salt=salt if salt is not None else cache_salt(terms)), params

    def add(self, request_id: str, engine_input: Any, params: Any) -> None:
        """Queue one request (see :meth:`request`)."""
        self.engine.add_request(request_id, engine_input, params)

    def step(self) -> list[Any]:
        """One engine step; vLLM's request outputs of this step."""
        return list(self.engine.step())

    def abort(self, request_ids: Sequence[str]) -> None:
        """Abort requests: their KV blocks and batch slots are freed."""
        self.engine.abort_request(list(request_ids))

    def unfinished(self) -> int:
        """Requests still queued or running."""
        return int(self.engine.get_num_unfinished_requests())

    def tokens_of(self, output: Any) -> tuple[list[int], str | None]:
        """New token ids of a request output, cut before the first end-of-sequence id, and its finish reason."""
        completion = output.outputs[0]
        ids = [int(t) for t in completion.token_ids]
        cut = next((i for i, t in enumerate(ids) if t in self.eos), len(ids))
        reason = completion.finish_reason
        return ids[:cut], (None if reason is None else ("length" if reason == "length" else "stop"))

    def run(self, requests: Sequence[tuple[Any, Any]]) -> list[Completion]:
        """Run prepared requests to completion as one batch (this thread drives the engine)."""
        ids = [f"steer-{uuid.uuid4().hex[:12]}-{i}" for i in range(len(requests))]
        for rid, (engine_input, params) in zip(ids, requests, strict=True):
            self.add(rid, engine_input, params)
        done: dict[str, Completion] = {}
        try:
            while len(done) < len(ids):
                for output in self.step():
                    if output.finished and output.request_id in ids:
                        tokens, reason = self.tokens_of(output)
                        cached = int(getattr(output, "num_cached_tokens", 0) or 0)
                        done[output.request_id] = Completion(output.request_id, tokens, reason or "stop", cached)
        except BaseException:
            self.abort([rid for rid in ids if rid not in done])
            raise
        return [done[rid] for rid in ids]

    def generate(
        self, prompts: Sequence[str], plans: Sequence[Sequence[SteerTerm] | None], max_tokens: int, chat: bool = True
    ) -> list[list[int]]:
        """Greedy new token ids for each prompt, steered by its plan (None: plain), in one batch."""
        if len(prompts) != len(plans):
            raise InvalidParameterError("plans", f"one plan per prompt ({len(prompts)})", len(plans))
        prepared = [
            self.request(self.encode(p), self.resolve(plan or (), f"plans[{i}]"), max_tokens)
            for i, (p, plan) in enumerate(zip(prompts, plans, strict=True))
        ]
        return [c.tokens for c in self.run(prepared)]

    # ------------------------------------------------------------------ probe
    def probe(self) -> dict[str, Any]:
        """Prove the hooks steer exactly the expected rows at every layer; enable steering or raise."""
        n_layers, width = self.facts["num_layers"], self.facts["hidden_size"]
        gen = torch.Generator().manual_seed(0)
        vector = SteeringVector(
            directions={layer: torch.randn(width, generator=gen) * 1e-3 for layer in range(n_layers)},
            hidden_size=width,
            num_layers=n_layers,
        )
        ref = self._register_content(PROBE_NAME, vector)
        layers = tuple(range(n_layers))
        prompt = self.encode("Name one prime number.")
        nonce = uuid.uuid4().hex
        expected = {"all": len(prompt) + PROBE_TOKENS - 1, "prompt": len(prompt), "generated": PROBE_TOKENS - 1}
        batch = []
        for mode in expected:
            term = ResolvedTerm(PROBE_NAME, ref.digest, 1.0, layers, mode)
            salt = f"probe-{nonce}-{cache_salt((term,))}"
            tag = f"{nonce}-{mode}"
            batch.append(self.request(prompt, (term,), PROBE_TOKENS, tag=tag, salt=salt, min_tokens=PROBE_TOKENS))
        batch.append(self.request(prompt, (), PROBE_TOKENS, min_tokens=PROBE_TOKENS))
        self.llm.collective_rpc("steering_stats", args=(True,))
        self.run(batch)
        stats = self.llm.collective_rpc("steering_stats")
        problems: list[str] = []
        for worker, st in enumerate(stats):
            if st["anomalies"]:
                problems.append(f"worker {worker}: {st['anomalies'][:3]}")
            for mode, rows in expected.items():
                seen = st["counters"].get(f"{nonce}-{mode}", {})
                wrong = {layer: seen.get(layer, 0) for layer in layers if seen.get(layer, 0) != rows}
                if wrong:
                    shown = dict(list(wrong.items())[:4])
                    problems.append(f"worker {worker}: positions={mode}: expected {rows} rows per layer, saw {shown}")
        self.probe_report = {"expected_rows": expected, "prompt_tokens": len(prompt), "problems": problems}
        if problems:
            self.steering_enabled = False
            raise SteeringUnavailableError(
                "steering: the start-up probe did not see the hooks steer the expected rows (compiled or "
                "CUDA-graph mode, or an unsupported model runner); refusing to steer: " + "; ".join(problems[:4])
            )
        self.steering_enabled = True
        log.info("steering: probe passed (%s)", expected)
        return self.probe_report

    def stats(self) -> dict[str, Any]:
        """The workers' steering counters (first worker)."""
        return dict(self.llm.collective_rpc("steering_stats")[0])

    def close(self) -> None:
        """Remove the hooks, shut the engine down and release vLLM's process-wide state.

        Another :class:`SteeredLLM` can then be started in the same process.
        """
        if getattr(self, "_closed", False):
            return
        self._closed = True
        try:
            self.llm.collective_rpc("steering_uninstall")
        finally:
            try:
                self.engine.engine_core.shutdown()
            finally:
                from vllm.distributed.parallel_state import cleanup_dist_env_and_memory

                del self.engine, self.llm
                cleanup_dist_env_and_memory()
