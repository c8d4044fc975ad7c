"""Fixtures for ``steer serve`` tests: a tiny random model saved as a folder, certified vectors made
on it, and real servers (uvicorn on a free loopback port) that the tests talk to over HTTP.

* ``served``: ``steer serve --model <tiny folder> --vectors <dir>`` in a subprocess (the CLI).
* ``start_inprocess``: the same application under other settings, on uvicorn in a thread (for
  limits that need small values: concurrency, timeout, body size, API key).

References are computed in the test process on the same folder loaded again with
``steering_core.models.load_model`` through ``steer()`` + ``generate()`` (the public,
single-request path), never through the server's own code.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from steering_core.certify import certify_vector, write_certified  # noqa: E402
from steering_core.extract import extract  # noqa: E402
from steering_core.generate import generate, generate_tokens  # noqa: E402
from steering_core.models import LoadedModel, load_model  # noqa: E402
from steering_core.steer import steer  # noqa: E402
from tests.certify.conftest import CREATED, TINY_PROTOCOL  # noqa: E402
from tests.conftest import make_tiny_model, make_tokenizer  # noqa: E402

# Four certified vectors on the tiny model: (file name, style, layer).
VECTORS = (
    ("terse-L1", "terse", 1),
    ("formal-L2", "formal", 2),
    ("socratic-L1", "socratic", 1),
    ("drywit-L2", "dry-wit", 2),
)


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> Iterator[None]:
    """Tiny models gain nothing from threads on a shared 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@dataclass
class TinyWorld:
    folder: Path
    vectors_dir: Path
    loaded: LoadedModel
    safe: dict[str, float]
    layers: dict[str, tuple[int, ...]]

    def reference(
        self, content: str, terms: list[tuple[str, float, str]], max_tokens: int, chat: bool = True
    ) -> tuple[list[int], str]:
        """The request run alone through ``generate`` under nested ``steer()`` contexts: (token ids, text)."""
        from steering_core.certify import load_certified

        lm = self.loaded
        with ExitStack() as stack:
            for name, alpha, positions in terms:
                vector = load_certified(self.vectors_dir / f"{name}.safetensors")
                stack.enter_context(
                    steer(lm, vector, alpha, layers=self.layers[name], positions=positions)  # type: ignore[arg-type]
                )
            tokens = generate_tokens(lm, [content], max_tokens, chat=chat)[0]
            text = generate(lm, [content], max_tokens, chat=chat)[0]
        return tokens, text


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory: pytest.TempPathFactory) -> TinyWorld:
    root = tmp_path_factory.mktemp("serve")
    folder = root / "tiny-model"
    model, tokenizer = make_tiny_model("qwen3"), make_tokenizer()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    loaded = load_model(str(folder))
    vectors_dir = root / "vectors"
    vectors_dir.mkdir()
    safe: dict[str, float] = {}
    layers: dict[str, tuple[int, ...]] = {}
    for name, style, layer in VECTORS:
        vector = extract(loaded, style=style, layers=[layer])
        certified = certify_vector(loaded, vector, protocol=TINY_PROTOCOL, created=CREATED)
        write_certified(vectors_dir / f"{name}.safetensors", certified)
        safe[name] = float(certified.body["recommendation"]["safe_alpha_max"])
        layers[name] = (layer,)
    # Files that must be refused at start-up (and logged), while the server starts with the rest.
    good = (vectors_dir / "terse-L1.safetensors").read_bytes()
    broken = bytearray(good)
    broken[-5] ^= 0x01
    (vectors_dir / "tampered.safetensors").write_bytes(bytes(broken))
    (vectors_dir / "notes.txt").write_text("not a vector\n")
    other = make_tiny_model("qwen3")  # the same model, "fine-tuned": one weight matrix moved a little
    with torch.no_grad():
        other.model.layers[3].mlp.down_proj.weight.add_(1e-3)
    other_lm = LoadedModel(model=other, tokenizer=tokenizer, name="tiny-other", source="memory")
    alien = certify_vector(
        other_lm, extract(other_lm, style="terse", layers=[1]), protocol=TINY_PROTOCOL, created=CREATED
    )
    write_certified(vectors_dir / "other-model.safetensors", alien)
    return TinyWorld(folder, vectors_dir, loaded, safe, layers)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, timeout: float = 120.0, proc: subprocess.Popen[str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {proc.stdout.read() if proc.stdout else ''}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not become healthy in {timeout} s")


@dataclass
class Served:
    url: str
    proc: subprocess.Popen[str]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="session")
def served(tiny_world: TinyWorld, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``steer serve`` on the tiny model, in a subprocess, on a free loopback port."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("serve-log") / "server.log"
    steer_bin = shutil.which("steer", path=str(Path(sys.executable).parent)) or "steer"
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TRANSFORMERS_VERBOSITY="error")
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [
                steer_bin,
                "serve",
                "--model",
                str(tiny_world.folder),
                "--vectors",
                str(tiny_world.vectors_dir),
                "--port",
                str(port),
                "--max-batch",
                "16",
                "--max-concurrent",
                "64",
                "--max-tokens",
                "256",
                "--timeout",
                "120",
                "--log-level",
                "info",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc=proc)
        yield Served(url, proc, log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def start_inprocess(tiny_world: TinyWorld) -> Iterator[Callable[..., str]]:
    """Start the app with other settings on uvicorn in a thread; returns its base URL."""
    import uvicorn

    from steering_core.serve.app import ServeSettings, create_app
    from steering_core.serve.vectors import load_vector_set

    servers: list[tuple[Any, threading.Thread]] = []
    vectors = load_vector_set(tiny_world.vectors_dir, tiny_world.loaded)

    def start(**overrides: Any) -> str:
        settings = ServeSettings(model_ids=(tiny_world.loaded.name, "tiny"), **overrides)
        port = free_port()
        config = uvicorn.Config(
            create_app(tiny_world.loaded, vectors, settings), host="127.0.0.1", port=port, log_level="warning"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, timeout=30)
        servers.append((server, thread))
        return url

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=30)
