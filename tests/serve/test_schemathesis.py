"""Schemathesis against the live server's own OpenAPI schema: no generated request may get a 5xx.

The server is the real ``steer serve`` subprocess on the tiny model (``served``); Schemathesis
reads ``/openapi.json`` from it and, for every operation, sends requests generated from the
schema over HTTP: valid ones (positive mode) and schema-violating ones (negative mode). Every
response must be a non-5xx that matches the schema, and the server process must stay alive.
The example count is bounded (``STEERING_SCHEMATHESIS_EXAMPLES``, default 25 per operation and
mode) so the test takes about a minute on 2 cores.

Schemathesis' own pytest plugin does not work with pytest 9 here (``Function._nodeid``), so the
test drives its Python API with Hypothesis directly: same generation, same checks.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance  # noqa: E402

from tests.serve.conftest import Served  # noqa: E402

EXAMPLES = int(os.environ.get("STEERING_SCHEMATHESIS_EXAMPLES", "25"))


def _operations(url: str) -> list[Any]:
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"])
def test_no_generated_request_gets_a_server_error(served: Served, mode: GenerationMode) -> None:
    operations = _operations(served.url)
    labels = sorted(op.label for op in operations)
    assert labels == sorted(
        [
            "GET /health",
            "GET /v1/models",
            "GET /v1/vectors",
            "POST /v1/chat/completions",
            "POST /v1/completions",
        ]
    )
    calls: dict[str, int] = {}
    statuses: dict[int, int] = {}

    def runner(operation: Any) -> Any:
        label = operation.label
        examples = EXAMPLES if label.startswith("POST") else max(3, EXAMPLES // 5)

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def check(case: Any) -> None:
            response = case.call(base_url=served.url, timeout=120)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            calls[label] = calls.get(label, 0) + 1
            checks = [not_a_server_error]
            content_type = (response.headers.get("content-type") or [""])[0]
            if mode is GenerationMode.POSITIVE and content_type.startswith("application/json"):
                checks.append(response_schema_conformance)
            case.validate_response(response, checks=checks)
            assert served.proc.poll() is None, "the server process died"

        return check

    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not operation.label.startswith("POST"):
            continue  # the GET routes take no input: nothing to make invalid
        runner(operation)()
    assert all(code < 500 for code in statuses), statuses
    assert set(calls) == (
        {lb for lb in labels if lb.startswith("POST")} if mode is GenerationMode.NEGATIVE else set(labels)
    )
    print(f"schemathesis {mode.value}: {sum(calls.values())} requests, statuses {sorted(statuses.items())}")
