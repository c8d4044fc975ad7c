"""``vllm``: the conformance backend on stock vLLM with the steering worker extension.

The backend serves the folder the reference model was loaded from (``lm.source``) with
:class:`steering_core.vllm.engine.SteeredLLM` and runs requests through one
:class:`steering_core.vllm.loop.EngineLoop`: the requests of one ``generate`` call go to vLLM
together and share its engine steps (mixed batches), and calls from several threads are served
concurrently by the same loop.

Capabilities, declared honestly:

* ``steer``, ``positions``, ``multi_term``, ``mixed_batch``, ``concurrency``: yes.
* ``cache_toggle``: no. vLLM always decodes with its paged KV cache; ``use_cache=False`` raises
  :class:`~steering_core.errors.InvalidParameterError` instead of being ignored.

:meth:`VllmBackend.state_digest` hashes, in the worker, every weight of the served model and the
ids of the installed steering hooks (they stay installed for the engine's life; the prefix cache
is salted per steering configuration, so what it holds cannot leak across configurations).

Needs the vLLM environment (``make vllm``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from steering_core.conformance.plan import Request
from steering_core.errors import InvalidParameterError
from steering_core.models import LoadedModel
from steering_core.vector import SteeringVector
from steering_core.vllm.config import SteerTerm
from steering_core.vllm.engine import SteeredLLM
from steering_core.vllm.loop import EngineLoop


class VllmBackend:
    """The ``vllm`` backend (see the module docstring)."""

    name = "vllm"
    capabilities = frozenset({"steer", "positions", "multi_term", "mixed_batch", "concurrency"})

    def __init__(self, lm: LoadedModel, **llm_kwargs: Any) -> None:
        self.lm = lm
        self.llm = SteeredLLM(lm, **llm_kwargs)
        self.loop = EngineLoop(self.llm)

    def add_vector(self, name: str, vector: SteeringVector) -> None:
        """Register ``vector`` in the workers under ``name``."""
        self.loop.call(lambda: self.llm.register(name, vector))

    def generate(self, requests: Sequence[Request], max_new_tokens: int, *, use_cache: bool = True) -> list[list[int]]:
        """Greedy new token ids per request; the requests of one call run as one vLLM batch."""
        if use_cache is not True:
            raise InvalidParameterError("use_cache", "True (vLLM always decodes with its KV cache)", repr(use_cache))
        prepared = []
        for i, request in enumerate(requests):
            terms = [SteerTerm(t.vector, t.alpha, tuple(t.layers), t.positions) for t in request.terms]
            resolved = self.llm.resolve(terms, f"requests[{i}].terms")
            prepared.append((self.llm.encode(request.prompt), resolved))
        return self.loop.generate(prepared, max_new_tokens)

    def state_digest(self) -> str | None:
        """sha256 of the served weights and the installed hook ids, computed in the worker."""
        return str(self.loop.call(lambda: self.llm.llm.collective_rpc("steering_state_digest")[0]))

    def close(self) -> None:
        """Stop the loop and shut vLLM down."""
        try:
            self.loop.close()
        finally:
            self.llm.close()
