"""The conformance kit on the in-process backends (tiny model), its spec and its command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from steering_core.conformance.adapters import ExportBackend, FoldedBackend, HookBackend
from steering_core.conformance.backend import CAPABILITIES, Backend
from steering_core.conformance.checks import CHECKS
from steering_core.conformance.spec import load_spec
from steering_core.errors import InvalidParameterError
from tests.conformance.conftest import make_kit, run

SPEC = Path(__file__).resolve().parents[2] / "steering_core" / "data" / "conformance.toml"


def test_spec_states_each_property_once_with_a_check() -> None:
    spec = load_spec()
    ids = [p.id for p in spec.properties]
    assert ids == list(CHECKS), "every property has exactly one check, in file order"
    assert len(ids) >= 14
    for prop in spec.properties:
        assert prop.statement and prop.tolerance and prop.why
        assert set(prop.needs) <= set(CAPABILITIES)
    assert load_spec(SPEC) == spec, "the default spec is the shipped steering_core/data/conformance.toml"


def test_spec_errors_name_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "c.toml"
    bad.write_text(SPEC.read_text().replace('oracle = "plain"', 'oracle = "vibes"', 1))
    with pytest.raises(InvalidParameterError, match=r"CF-zero-alpha\.oracle"):
        load_spec(bad)
    bad.write_text(SPEC.read_text().replace('needs = ["steer"]', 'needs = ["telepathy"]', 1))
    with pytest.raises(InvalidParameterError, match="needs"):
        load_spec(bad)


def test_hook_backend_conforms_to_every_property(kit) -> None:  # type: ignore[no-untyped-def]
    backend = HookBackend(kit[0])
    assert isinstance(backend, Backend)
    report = run(backend, kit)
    assert report.passed, report.table()
    assert report.counts() == {"pass": len(CHECKS), "fail": 0, "unsupported": 0, "error": 0}


@pytest.mark.parametrize("factory", [FoldedBackend, ExportBackend], ids=["hf-folded", "folded-export"])
def test_folded_backends_conform_and_say_what_they_do_not_support(kit, factory) -> None:  # type: ignore[no-untyped-def]
    report = run(factory(kit[0]), kit)
    assert report.passed, report.table()
    status = {r.id: r.status for r in report.results}
    for pid in ("CF-positions-prompt", "CF-positions-generated", "CF-batch-isolation", "CF-request-isolation"):
        assert status[pid] == "unsupported", "a missing capability is never reported as passed"
    assert "UNSUPPORTED" in report.table()


def test_serve_backend_conforms_over_http() -> None:
    """The real steer serve application on uvicorn, requests over HTTP, vectors certified for it.

    Tiny Qwen3: certification needs an effective, non-degenerate alpha, which the tiny random
    Qwen2's answers (degenerate at every alpha) cannot give.
    """
    pytest.importorskip("fastapi")
    from steering_core.conformance.serve_adapter import ServeBackend

    kit = make_kit("qwen3")
    lm, fixture = kit[0], kit[1]
    backend = ServeBackend(lm, layers=[fixture.layer - 1, fixture.layer, fixture.layer + 1])
    report = run(backend, kit)
    assert report.passed, report.table()
    status = {r.id: r.status for r in report.results}
    assert status["CF-cache"] == "unsupported"
    assert sum(s == "pass" for s in status.values()) == len(CHECKS) - 1


def test_report_json_round_trips(kit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    report = run(HookBackend(kit[0]), kit, only=["CF-zero-alpha", "CF-sign"])
    data = json.loads(json.dumps(report.to_dict()))
    assert data["schema"] == "steering-spec/conformance-v1"
    assert data["passed"] is True and data["counts"]["pass"] == 2
    assert [r["id"] for r in data["results"]] == ["CF-zero-alpha", "CF-sign"]


def test_cli_runs_a_backend_and_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from steering_core.cli import main

    out = tmp_path / "hook.json"
    code = main(
        [
            "conform",
            "--backend",
            "hf-hook",
            "--model",
            "tiny-qwen2",
            "--json",
            str(out),
            "--property",
            "CF-dose",
            "--property",
            "CF-batch-isolation",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "CF-dose" in printed and "2 passed, 0 failed" in printed
    assert json.loads(out.read_text())["backend"] == "hf-hook"


def test_cli_bad_arguments_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from steering_core.cli import main

    assert main(["conform", "--backend", "hf-hook", "--model", "tiny-qwen2", "--property", "CF-nope"]) == 2
    assert main(["conform", "--backend", "hf-hook", "--model", "tiny-gpt9"]) == 2
    err = capsys.readouterr().err
    assert "CF-nope" in err and "gpt9" in err and "Traceback" not in err
