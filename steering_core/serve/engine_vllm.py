"""``steer serve --engine vllm``: the server's engine interface on stock vLLM with per-request steering.

The HTTP layer (:mod:`.app`) is the same for both engines: it validates each request (schema,
vector names, certified safe range, context) and compiles its plan against the reference model
exactly as for the Hugging Face engine, so clients see the same schema and the same 4xx errors.
Only the execution differs: :class:`VllmServeEngine` takes the same :class:`~.engine.Job`
(``submit`` / ``stats`` / ``close``) and runs it on vLLM through
:class:`steering_core.vllm.loop.EngineLoop`.

A job's compiled plan is turned into vLLM terms by content: each term's per-layer directions are
hashed (:func:`steering_core.vllm.config.tensor_digest`) and must be registered in the workers,
which happens once at start-up for every served vector (a plan naming other content is
registered on first use). Alpha, layers and positions are the plan's own, and the cache salt is
derived from all of them.

Requires the ``vllm`` environment (``make vllm``); the engine refuses to start unless the probe
of :class:`steering_core.vllm.engine.SteeredLLM` proves the steering hooks run.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from steering_core.models import LoadedModel
from steering_core.plan import CompiledPlan
from steering_core.serve.engine import Job
from steering_core.serve.vectors import VectorSet
from steering_core.vllm.config import ResolvedTerm, tensor_digest

log = logging.getLogger("steering_core.serve")


def _layer_bytes(vectors: Any) -> tuple[dict[int, bytes], str, int]:
    first: torch.Tensor = next(iter(vectors.values()))
    dtype = str(first.dtype).removeprefix("torch.")
    raw = {
        int(layer): t.detach().to("cpu").contiguous().view(torch.uint8).numpy().tobytes()
        for layer, t in vectors.items()
    }
    return raw, dtype, int(first.shape[-1])


class VllmServeEngine:
    """The serve engine interface (``submit``, ``stats``, ``close``) on vLLM.

    Args:
        loaded: the reference model, loaded from the folder vLLM serves.
        vectors: the verified vectors (each registered in the workers once, here).
        max_batch: vLLM's ``max_num_seqs``.
        max_pending: most admitted requests (``submit`` returns False beyond: the app answers 429).
        max_model_len: vLLM's context (default: the model's ``max_position_embeddings``, so the
            app's context checks give the same answers as with the Hugging Face engine).
        llm_kwargs: more :class:`~steering_core.vllm.engine.SteeredLLM` arguments.
    """

    def __init__(
        self,
        loaded: LoadedModel,
        vectors: VectorSet,
        max_batch: int = 16,
        max_pending: int = 64,
        max_model_len: int | None = None,
        **llm_kwargs: Any,
    ) -> None:
        # deferred: vLLM exists only in .venv-vllm; this module must import without it
        from steering_core.vllm.engine import SteeredLLM
        from steering_core.vllm.loop import EngineLoop

        if max_model_len is None:
            config = loaded.model.config
            text = config.get_text_config() if hasattr(config, "get_text_config") else config
            max_model_len = int(text.max_position_embeddings)
        self.llm = SteeredLLM(loaded, max_num_seqs=max_batch, max_model_len=max_model_len, **llm_kwargs)
        self.context = max_model_len
        self._known: set[str] = set()
        for name, served in sorted(vectors.vectors.items()):
            ref = self.llm.register(name, served.vector)
            self._known.add(ref.digest)
        self.loop = EngineLoop(self.llm, max_pending)

    def _terms(self, plan: CompiledPlan | None) -> tuple[ResolvedTerm, ...]:
        if plan is None:
            return ()
        out: list[ResolvedTerm] = []
        for term in plan.terms:
            raw, dtype, width = _layer_bytes(term.vectors)
            digest = tensor_digest(raw, dtype, width)
            if digest not in self._known:
                layers = {int(k): v for k, v in term.vectors.items()}
                self.loop.call(lambda layers=layers: self.llm.register_tensors(layers))  # type: ignore[misc]
                self._known.add(digest)
            out.append(ResolvedTerm(digest[:16], digest, float(term.alpha), tuple(term.vectors), term.positions))
        return tuple(out)

    def submit(self, job: Job) -> bool:
        """Queue ``job``; False (nothing queued) when ``max_pending`` jobs are already admitted.

        The job's ``tokens`` and ``finish_reason`` are filled in and its ``on_event`` called as
        the Hugging Face engine does; setting ``job.cancelled`` aborts it in vLLM (slot freed).
        """

        def on_event(kind: str, value: Any) -> None:
            if kind == "token":
                job.tokens.append(int(value))
            elif kind == "done":
                job.finish_reason = str(value)
            elif kind == "error":
                job.finish_reason = "error"
            job.on_event(kind, value)

        handle = self.loop.submit(job.prompt_ids, self._terms(job.plan), job.max_new_tokens, on_event, job.cancelled)
        return handle is not None

    def stats(self) -> dict[str, int]:
        """The loop's counts (admitted, running, waiting, steps, finished, aborted, errors)."""
        return self.loop.stats()

    def close(self, timeout: float = 60.0) -> None:
        """Stop the loop, remove the hooks and shut vLLM down."""
        try:
            self.loop.close(timeout)
        finally:
            self.llm.close()
