"""The steering configuration of a vLLM request: validation, wire format, cache salt (pure Python)."""

from __future__ import annotations

import math

import pytest

from steering_core.errors import InvalidParameterError, LayerOutOfRangeError, NonFiniteError
from steering_core.vllm.config import (
    EXTRA_KEY,
    SteerTerm,
    VectorRef,
    cache_salt,
    canonical,
    extra_args,
    resolve_terms,
    tensor_digest,
)

REG = {
    "v": VectorRef("v", "a" * 64, (3,), 8),
    "w": VectorRef("w", "b" * 64, (3,), 8),
    "multi": VectorRef("multi", "c" * 64, (2, 3, 4), 8),
}


def salt(*terms: SteerTerm) -> str | None:
    return cache_salt(resolve_terms(list(terms), REG))


def test_plain_request_has_no_salt_and_no_extra_args() -> None:
    assert salt() is None
    assert extra_args(()) is None
    assert salt(SteerTerm("v", 0.0, 3)) is None  # alpha 0 changes nothing: dropped, as compile_plan drops it


def test_salt_depends_on_every_part_of_the_configuration() -> None:
    base = salt(SteerTerm("v", 1.5, 3, "all"))
    variants = [
        salt(SteerTerm("w", 1.5, 3, "all")),  # other vector
        salt(SteerTerm("v", 1.5000000000000002, 3, "all")),  # the next float: exact, not rounded
        salt(SteerTerm("v", -1.5, 3, "all")),
        salt(SteerTerm("v", 1.5, 3, "prompt")),
        salt(SteerTerm("v", 1.5, 3, "generated")),
        salt(SteerTerm("multi", 1.5, (3,), "all")),
        salt(SteerTerm("v", 1.5, 3, "all"), SteerTerm("w", 1.0, 3, "all")),
    ]
    assert base is not None and len(base) == 64
    assert len({base, *variants}) == len(variants) + 1
    assert salt(SteerTerm("v", 1.5, 3, "all")) == base  # deterministic
    assert salt(SteerTerm("v", 1.5, (3,), "all")) == base  # int and 1-tuple are the same layers


def test_term_order_is_part_of_the_configuration() -> None:
    one = salt(SteerTerm("v", 1.0, 3), SteerTerm("w", 2.0, 3))
    two = salt(SteerTerm("w", 2.0, 3), SteerTerm("v", 1.0, 3))
    assert one != two  # floating-point addition order differs, so the KV may differ


def test_wire_format_carries_digest_alpha_layers_positions() -> None:
    terms = resolve_terms([SteerTerm("multi", 0.25, (4, 2), "prompt")], REG)
    payload = extra_args(terms, tag="t")
    assert payload == {EXTRA_KEY: {"terms": [{"d": "c" * 64, "a": 0.25, "l": [4, 2], "p": "prompt"}], "tag": "t"}}
    assert canonical(terms) == '[["' + "c" * 64 + '","0x1.0000000000000p-2",[4,2],"prompt"]]'


@pytest.mark.parametrize(
    ("term", "error", "param"),
    [
        (SteerTerm("nope", 1.0, 3), InvalidParameterError, "steering[0].vector"),
        (SteerTerm("v", math.nan, 3), NonFiniteError, "steering[0].alpha"),
        (SteerTerm("v", math.inf, 3), NonFiniteError, "steering[0].alpha"),
        (SteerTerm("v", True, 3), InvalidParameterError, "steering[0].alpha"),  # type: ignore[arg-type]
        (SteerTerm("v", "1", 3), InvalidParameterError, "steering[0].alpha"),  # type: ignore[arg-type]
        (SteerTerm("v", 1.0, 3, "middle"), InvalidParameterError, "steering[0].positions"),
        (SteerTerm("v", 1.0, 7), LayerOutOfRangeError, "steering[0].layers"),
        (SteerTerm("v", 1.0, (3, 3)), InvalidParameterError, "steering[0].layers"),
        (SteerTerm("v", 1.0, ()), InvalidParameterError, "steering[0].layers"),
        (SteerTerm("v", 1.0, (True,)), InvalidParameterError, "steering[0].layers"),  # type: ignore[arg-type]
        (SteerTerm("multi", 1.0, None), InvalidParameterError, "steering[0].layers"),
    ],
)
def test_bad_terms_raise_naming_the_field(term: SteerTerm, error: type[Exception], param: str) -> None:
    with pytest.raises(error) as info:
        resolve_terms([term], REG)
    assert getattr(info.value, "parameter", None) == param


def test_not_a_sequence_of_terms() -> None:
    with pytest.raises(InvalidParameterError):
        resolve_terms("v", REG)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError) as info:
        resolve_terms([("v", 1.0)], REG)  # type: ignore[list-item]
    assert info.value.parameter == "steering[0]"


def test_single_layer_vector_needs_no_layers() -> None:
    (term,) = resolve_terms([SteerTerm("v", 2.0)], REG)
    assert term.layers == (3,)


def test_tensor_digest_is_order_independent_and_content_bound() -> None:
    a = tensor_digest({1: b"x", 2: b"y"}, "float32", 8)
    assert a == tensor_digest({2: b"y", 1: b"x"}, "float32", 8)
    assert a != tensor_digest({1: b"x", 2: b"z"}, "float32", 8)
    assert a != tensor_digest({1: b"x", 2: b"y"}, "bfloat16", 8)
    assert a != tensor_digest({1: b"x", 3: b"y"}, "float32", 8)
