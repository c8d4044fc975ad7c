"""Helpers of the hardening suite: run a call in a fresh interpreter and measure it; tiny models.

:func:`measure` runs Python ``calls`` in a subprocess (so a call that never ends is killed and
its memory is its own) and returns, per call, the outcome (exception type and message, or
``RETURNED`` with the value), the wall time, the peak of Python allocations (``tracemalloc``, numpy
included) and the growth of the process's peak RSS (``ru_maxrss``) during the call. The
imports a call needs happen before the measurement starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

_CHILD = """
import contextlib, io, json, resource, sys, time, tracemalloc
{setup}
def _run(label, fn):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    err, out = io.StringIO(), io.StringIO()
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            value = fn()
        outcome = {{"type": "RETURNED", "message": repr(value)[:300], "mro": []}}
    except BaseException as error:  # noqa: BLE001 - the outcome is what is measured
        outcome = {{"type": type(error).__name__, "message": str(error)[:500],
                    "mro": [c.__name__ for c in type(error).__mro__]}}
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcome.update(label=label, seconds=seconds, traced_mb=peak / 2**20, rss_growth_mb=(after - before) / 1024,
                   stderr=err.getvalue(), stdout=out.getvalue())
    print("RESULT " + json.dumps(outcome), flush=True)
{calls}
"""


def measure(setup: str, calls: list[tuple[str, str]], timeout: float = 60.0) -> dict[str, dict[str, Any]]:
    """Run ``calls`` (label, Python expression) after ``setup`` in a fresh interpreter.

    Raises:
        AssertionError: the child did not finish within ``timeout`` seconds (it is killed), or
            died without reporting every call.
    """
    body = "\n".join(f"_run({label!r}, lambda: {expr})" for label, expr in calls)
    code = _CHILD.format(setup=textwrap.dedent(setup), calls=body)
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_VERBOSITY="error")
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, cwd=REPO, env=env
        )
    except subprocess.TimeoutExpired as expired:
        done = [line for line in (expired.stdout or b"").decode().splitlines() if line.startswith("RESULT ")]
        raise AssertionError(
            f"did not finish within {timeout} s (killed) after {len(done)} of {len(calls)} calls"
        ) from None
    results = {}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            item = json.loads(line[len("RESULT ") :])
            results[item["label"]] = item
    missing = [label for label, _ in calls if label not in results]
    assert not missing, f"child died before {missing}: rc={proc.returncode} {proc.stderr[-2000:]}"
    return results


def tiny_model(arch: str = "qwen2", mlp_bias: bool = False, layers: int = 4, seed: int = 0) -> Any:
    """A tiny random causal LM (hidden 64) built from a config: no download, float32, eval mode."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

    common = dict(
        vocab_size=256,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
    )
    if arch == "llama":
        config: Any = LlamaConfig(mlp_bias=mlp_bias, head_dim=16, **common)
    else:
        config = Qwen2Config(**common)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    model.eval()
    return model


def tiny_tokenizer(chat_template: bool = True) -> Any:
    """A character-level fast tokenizer (ids < 100), with or without a chat template."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    chars = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?'\"-()\n")
    specials = ["<pad>", "<unk>", "<eos>", "<|user|>", "<|assistant|>", "<|end|>"]
    vocab = {tok: i for i, tok in enumerate(specials + chars)}
    core = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    tok = PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", unk_token="<unk>", eos_token="<eos>")
    tok.add_special_tokens({"additional_special_tokens": ["<|user|>", "<|assistant|>", "<|end|>"]})
    if chat_template:
        tok.chat_template = (
            "{% for m in messages %}<|user|>\n{{ m['content'] }}<|end|>\n{% endfor %}"
            "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
        )
    return tok
