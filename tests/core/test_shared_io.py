"""The shared mechanisms: canonical JSON, strict JSON, atomic writes, package data (no model)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from steering_core import atomic, resources
from steering_core.canonical import canonical_json, canonical_text, sha256_hex
from steering_core.errors import CheckoutRequiredError, JSONFormatError
from steering_core.strict_json import loads_strict, parse_canonical


# ----------------------------------------------------------------------------- canonical JSON
def test_canonical_json_bytes_and_digest() -> None:
    value = {"b": [1, 2.5, None, True], "a": "é", "c": {"y": 1, "x": -0.0}}
    expected = '{"a":"é","b":[1,2.5,null,true],"c":{"x":-0.0,"y":1}}'
    assert canonical_json(value) == expected.encode("utf-8")
    assert canonical_text(value) == expected
    assert sha256_hex(value) == hashlib.sha256(expected.encode("utf-8")).hexdigest()


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), object(), "\ud800"])
def test_canonical_json_refuses_what_has_no_canonical_form(bad: object) -> None:
    with pytest.raises(JSONFormatError, match="where-it-was") as info:
        canonical_json({"x": bad}, "where-it-was")
    assert info.value.where == "where-it-was" and isinstance(info.value, ValueError)


def test_prompt_digests_are_the_canonical_digest() -> None:
    from steering_core.prompt_sets import prompt_set, prompt_set_digest, prompts_digest

    prompts = prompt_set()
    legacy = hashlib.sha256(json.dumps(prompts, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()
    assert prompt_set_digest() == prompts_digest(prompts) == sha256_hex(prompts) == legacy


# ----------------------------------------------------------------------------- strict JSON
@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ('{"a": 1, "a": 2}', "duplicate key"),
        ('{"a": NaN}', "non-finite"),
        ('{"a": -Infinity}', "non-finite"),
        ("[1,", "not valid JSON"),
        (b"\xff", "not valid UTF-8"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_loads_strict_refuses(text: str | bytes, detail: str) -> None:
    with pytest.raises(JSONFormatError, match=detail) as info:
        loads_strict(text, "f.json")
    assert info.value.where == "f.json"


def test_loads_strict_reads_plain_json() -> None:
    assert loads_strict('{"a": [1, 2.5, "x"]}') == {"a": [1, 2.5, "x"]}
    assert loads_strict(b'{"a": 1}') == {"a": 1}


@pytest.mark.parametrize("text", ['{"b":1,"a":2}', '{"a": 2}', '{"a":"\\u00e9"}', '{"a":2.50}'])
def test_parse_canonical_refuses_other_spellings(text: str) -> None:
    json.loads(text)  # valid JSON, just not canonical
    with pytest.raises(JSONFormatError, match="canonical"):
        parse_canonical(text)


def test_parse_canonical_round_trip() -> None:
    value = {"z": [1, 0.1, "é"], "a": None}
    assert parse_canonical(canonical_json(value)) == value


# ----------------------------------------------------------------------------- atomic writes
def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_write_bytes_atomic_publishes_with_the_usual_mode(tmp_path: Path) -> None:
    target = atomic.write_bytes_atomic(tmp_path / "sub" / "x.bin", b"abc")
    assert target.read_bytes() == b"abc"
    assert sorted(os.listdir(target.parent)) == ["x.bin"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_umask()
    atomic.write_text_atomic(target, "é")
    assert target.read_bytes() == "é".encode()


def test_atomic_file_error_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "x.txt"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError, match="half-way"), atomic.atomic_file(target) as tmp:
        tmp.write_text("new, half written", encoding="utf-8")
        raise RuntimeError("half-way")
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(os.listdir(tmp_path)) == ["x.txt"]


def test_atomic_dir_replaces_a_folder_whole(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with atomic.atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("1", encoding="utf-8")
    assert stat.S_IMODE(target.stat().st_mode) == 0o777 & ~_umask()
    with atomic.atomic_dir(target) as tmp:
        (tmp / "b.txt").write_text("2", encoding="utf-8")
    assert sorted(os.listdir(target)) == ["b.txt"]
    assert sorted(os.listdir(tmp_path)) == ["out"]


def test_atomic_dir_error_keeps_the_old_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out"
    with atomic.atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("1", encoding="utf-8")
    with pytest.raises(RuntimeError, match="boom"), atomic.atomic_dir(target) as tmp:
        (tmp / "b.txt").write_text("2", encoding="utf-8")
        raise RuntimeError("boom")
    assert sorted(os.listdir(target)) == ["a.txt"]
    real_replace = os.replace
    calls: list[str] = []

    def second_rename_fails(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls.append(str(dst))
        if len(calls) == 2:  # the new folder into place: fails after the old one was moved aside
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", second_rename_fails)
    with pytest.raises(OSError, match="disk full"), atomic.atomic_dir(target) as tmp:
        (tmp / "c.txt").write_text("3", encoding="utf-8")
    monkeypatch.undo()
    assert sorted(os.listdir(target)) == ["a.txt"]  # the old folder is back under its name
    assert sorted(os.listdir(tmp_path)) == ["out"]


# ----------------------------------------------------------------------------- package data
@pytest.mark.parametrize(
    "parts",
    [
        ("properties.toml",),
        ("properties.schema.json",),
        ("cprr", "conjecture.schema.json"),
        ("lean4", "Kernel", "Steering.lean"),
        ("lean4", "SteeringSpec", "Axioms.lean"),
        ("prompt_sets.json",),
        ("lenses.json",),
        ("conformance.toml",),
    ],
)
def test_shipped_files_are_package_data(parts: tuple[str, ...]) -> None:
    path = resources.require_data(*parts)
    assert path.is_file() and not path.is_symlink()
    assert path.is_relative_to(resources.data_dir())


def test_missing_package_data_is_a_typed_error() -> None:
    from steering_core.errors import DataFileError

    with pytest.raises(DataFileError, match=r"no-such-file\.json is missing"):
        resources.require_data("no-such-file.json")


def test_checkout_only_commands_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resources.require_checkout("x") == Path(__file__).resolve().parents[2]
    monkeypatch.setattr(resources, "checkout_root", lambda: None)
    with pytest.raises(CheckoutRequiredError, match="running the tests needs the steering-spec source checkout"):
        resources.require_checkout("running the tests")
