"""Model loading: embedded-model assembly with sha256 pinning, cache location, offline errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from steering_core import models
from steering_core.errors import ChecksumMismatchError, ModelUnavailableError
from steering_core.models import EmbeddedModel, GgufPart, assemble_gguf, cache_dir, resolve_embedded


def _fake_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunks: list[bytes]) -> tuple[GgufPart, ...]:
    root = tmp_path / "site"
    parts = []
    for i, data in enumerate(chunks, start=1):
        pkg = root / f"fake_gguf_part{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("raise RuntimeError('never imported')\n")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(data)
        parts.append(GgufPart(package=f"fake_gguf_part{i}", relative_path=f"data/part{i:02d}.bin"))
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv(models.CACHE_ENV, str(tmp_path / "cache"))
    return tuple(parts)


def _embedded(parts: tuple[GgufPart, ...], digest: str, size: int) -> EmbeddedModel:
    return EmbeddedModel(
        name="fake-model",
        description="test",
        gguf_name="fake.gguf",
        parts=parts,
        sha256=digest,
        size=size,
        install_hint="pip install nothing",
    )


def test_assembles_parts_in_order_and_checks_sha256(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chunks = [b"GGUF" + b"a" * 100, b"b" * 50, b"c" * 7]
    whole = b"".join(chunks)
    model = _embedded(_fake_parts(tmp_path, monkeypatch, chunks), hashlib.sha256(whole).hexdigest(), len(whole))
    path = assemble_gguf(model)
    assert path.read_bytes() == whole
    assert path.parent == tmp_path / "cache" / "models" / "fake-model"
    # A tampered cached copy is detected and rebuilt.
    path.write_bytes(b"tampered")
    assert assemble_gguf(model).read_bytes() == whole


def test_checksum_mismatch_is_refused_and_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _embedded(_fake_parts(tmp_path, monkeypatch, [b"x" * 10, b"y"]), "0" * 64, 11)
    with pytest.raises(ChecksumMismatchError, match="refusing to load"):
        assemble_gguf(model)
    folder = tmp_path / "cache" / "models" / "fake-model"
    assert list(folder.iterdir()) == []


def test_missing_part_package_names_the_install_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(models.CACHE_ENV, str(tmp_path))
    model = _embedded((GgufPart(package="no_such_package_xyz", relative_path="data/part01.bin"),), "0" * 64, 1)
    with pytest.raises(ModelUnavailableError, match="pip install nothing"):
        assemble_gguf(model)


def test_cache_dir_is_overridable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(models.CACHE_ENV, str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv(models.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "steering-spec"


def test_embedded_names_and_aliases() -> None:
    assert resolve_embedded("embedded") is models.EMBEDDED_MODELS[models.DEFAULT_MODEL]
    assert resolve_embedded("SmolLM2") is models.EMBEDDED_MODELS["smollm2-135m-instruct"]
    assert resolve_embedded("Qwen/Qwen3-0.6B") is None
    default = models.EMBEDDED_MODELS[models.DEFAULT_MODEL]
    assert default.size == 491_400_064 and len(default.parts) == 6


def test_unreachable_hub_id_says_so_and_names_alternatives(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(ModelUnavailableError) as info:
        models.load_model("Qwen/Qwen3-0.6B")
    message = str(info.value)
    assert "Qwen/Qwen3-0.6B" in message and "'embedded'" in message and "'smollm2'" in message


def test_local_folder_loads(tmp_path: Path) -> None:
    from tests.conftest import make_tiny_model, make_tokenizer

    make_tiny_model("llama").save_pretrained(tmp_path / "m")
    make_tokenizer().save_pretrained(tmp_path / "m")
    loaded = models.load_model(str(tmp_path / "m"))
    assert loaded.num_layers == 4 and loaded.hidden_size == 64
    assert not loaded.model.training


def test_unreachable_hub_fails_at_once_without_offline_flag(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setattr(models, "hub_reachable", lambda timeout=3.0: False)
    with pytest.raises(ModelUnavailableError, match="cannot be reached"):
        models.load_model("Qwen/Qwen3-0.6B")
