"""Per-request steering on stock vLLM (a worker extension, no fork), checked against the reference core.

Tooling layer; vLLM itself is optional and lives in its own environment (``make vllm`` makes
``.venv-vllm``). Importing this package does not import vLLM; :class:`SteeredLLM` does.

* :mod:`.config`: terms, validation, the wire format and the prefix-cache salt (pure Python).
* :mod:`.worker`: the worker extension whose hooks steer each token row by its request.
* :mod:`.engine`: :class:`SteeredLLM`, the driver: vectors (certified ones verified), the start-up
  probe that refuses to steer unless the hooks demonstrably run, requests and batches.
* :mod:`.loop`: :class:`EngineLoop`, one thread that owns the engine for concurrent callers.
"""

from steering_core.vllm.config import ResolvedTerm, SteerTerm, VectorRef, cache_salt

__all__ = ["ResolvedTerm", "SteerTerm", "VectorRef", "cache_salt"]
