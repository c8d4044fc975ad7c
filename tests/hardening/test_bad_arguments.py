"""Bad arguments to the public API get typed errors, before anything is installed (points 3 and 4).

Classes: wrong type (``layers=1.0``, a single string of prompts), malformed (``layers=[]``,
repeated layers, empty or whitespace prompts with no chat template), oversized (a prompt over
the limit), wrong device (``meta`` tensors, mixed devices, a ``meta`` model), wrong model (a
vector recording another model's name or layer count), concurrency (folded steering while
another thread steers). Each error names the parameter; the model is left unhooked.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
import torch

from steering_core import errors
from steering_core.models import LoadedModel
from steering_core.steer import hook_snapshot, steer
from steering_core.vector import SteeringVector
from tests.hardening._support import tiny_model, tiny_tokenizer

WIDTH = 64


@pytest.fixture
def model() -> Any:
    return tiny_model("qwen2")


def _unhooked(model: Any) -> bool:
    return not hook_snapshot(model)


# ----------------------------------------------------------------------------- layers (wrong type, malformed)


@pytest.mark.parametrize(
    ("layers", "error", "needle"),
    [
        (1.0, errors.LayerOutOfRangeError, "float 1.0"),
        ("1", errors.LayerOutOfRangeError, "str"),
        (True, errors.LayerOutOfRangeError, "bool"),
        ([], errors.InvalidParameterError, "empty"),
        ((), errors.InvalidParameterError, "empty"),
        ([1, 1], errors.InvalidParameterError, "repeated"),
        ([1.0], errors.LayerOutOfRangeError, "float"),
        ([0, 9], errors.LayerOutOfRangeError, "9"),
        (iter(range(10**12)), errors.LayerOutOfRangeError, "4"),  # bounded: never materialised
    ],
    ids=["float", "str", "bool", "empty-list", "empty-tuple", "repeated", "float-in-list", "out-of-range", "endless"],
)
def test_bad_layers_are_typed_errors(model: Any, layers: Any, error: type[Exception], needle: str) -> None:
    with pytest.raises(error, match="layers") as caught, steer(model, torch.ones(WIDTH), 1.0, layers=layers):
        pass
    assert needle in str(caught.value)
    assert _unhooked(model)


def test_empty_layers_with_a_steering_vector(model: Any) -> None:
    vector = SteeringVector(directions={1: torch.ones(WIDTH), 2: torch.ones(WIDTH)}, hidden_size=WIDTH, num_layers=4)
    with pytest.raises(errors.InvalidParameterError, match=r"layers: .*empty"), steer(model, vector, 1.0, layers=[]):
        pass
    assert _unhooked(model)


# ----------------------------------------------------------------------------- devices


def test_a_meta_tensor_vector_is_a_device_error(model: Any) -> None:
    meta = torch.ones(WIDTH, device="meta")
    with pytest.raises(errors.DeviceMismatchError, match=r"vector: .*meta"), steer(model, meta, 1.0, layers=1):
        pass
    assert _unhooked(model)


def test_a_steering_vector_on_meta_or_mixed_devices(model: Any) -> None:
    with pytest.raises(errors.DeviceMismatchError, match="meta"):
        SteeringVector(directions={1: torch.ones(WIDTH, device="meta")}, hidden_size=WIDTH)
    with pytest.raises(errors.DeviceMismatchError, match="meta"):
        SteeringVector(directions={1: torch.ones(WIDTH), 2: torch.ones(WIDTH, device="meta")}, hidden_size=WIDTH)


def test_a_model_on_the_meta_device(model: Any) -> None:
    meta = model.to("meta")
    with pytest.raises(errors.DeviceMismatchError, match="model"), steer(meta, torch.ones(WIDTH), 1.0, layers=1):
        pass


# ----------------------------------------------------------------------------- wrong model


def _named(model: Any, name: str) -> Any:
    from steering_core.identity import tag_model

    tag_model(model, name)
    return model


def test_a_vector_recording_another_layer_count_is_refused(model: Any) -> None:
    vector = SteeringVector(
        directions={1: torch.ones(WIDTH)}, hidden_size=WIDTH, num_layers=30, model_name="smollm2-135m-instruct"
    )
    with pytest.raises(errors.ModelMismatchError, match="30 layers"), steer(model, vector, 1.0):
        pass
    assert _unhooked(model)
    with steer(model, vector, 1.0, allow_other_model=True) as handle:  # explicit opt-in
        assert handle.installed
    with pytest.warns(DeprecationWarning, match="apply"):  # the deprecated alias forwards the opt-in
        alias = vector.apply(model, 1.0, allow_other_model=True)
    with alias as handle:
        assert handle.installed


def test_a_vector_recording_another_model_name_is_refused(model: Any) -> None:
    _named(model, "tiny-model-a")
    vector = SteeringVector(
        directions={1: torch.ones(WIDTH)}, hidden_size=WIDTH, num_layers=4, model_name="tiny-model-b"
    )
    with pytest.raises(errors.ModelMismatchError, match="tiny-model-b"), steer(model, vector, 1.0):
        pass
    with pytest.raises(errors.ModelMismatchError), pytest.warns(DeprecationWarning), vector.apply(model, 1.0):
        pass
    assert _unhooked(model)
    with steer(model, vector, 1.0, allow_other_model=True) as handle:
        assert handle.installed


def test_the_same_model_under_another_spelling_is_accepted(model: Any) -> None:
    _named(model, "qwen2.5-coder-0.5b-instruct")
    for spelling in ("qwen2.5-coder-0.5b-instruct", "embedded", "Qwen2.5-Coder"):
        vector = SteeringVector(directions={1: torch.ones(WIDTH)}, hidden_size=WIDTH, num_layers=4, model_name=spelling)
        with steer(model, vector, 1.0) as handle:
            assert handle.installed


def test_unrecorded_identity_is_not_held_against_a_vector(model: Any) -> None:
    with steer(model, SteeringVector(directions={1: torch.ones(WIDTH)}, hidden_size=WIDTH), 1.0) as handle:
        assert handle.installed
    unnamed = tiny_model("qwen2")  # built from a config: no name
    named_vector = SteeringVector(
        directions={1: torch.ones(WIDTH)}, hidden_size=WIDTH, num_layers=4, model_name="tiny-model-b"
    )
    with steer(unnamed, named_vector, 1.0) as handle:
        assert handle.installed


def test_allow_other_model_must_be_a_bool(model: Any) -> None:
    vector = SteeringVector(directions={1: torch.ones(WIDTH)}, hidden_size=WIDTH)
    context = steer(model, vector, 1.0, allow_other_model="yes")  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidParameterError, match="allow_other_model"), context:
        pass


# ----------------------------------------------------------------------------- prompts


@pytest.mark.parametrize("prompt", ["", "   ", "\n\t"], ids=["empty", "spaces", "newline-tab"])
def test_empty_raw_prompts_are_typed_errors(model: Any, prompt: str) -> None:
    from steering_core.generate import generate, generate_tokens, steered_generate
    from steering_core.prompts import encode

    tok = tiny_tokenizer()
    with pytest.raises(errors.EmptyPromptError, match=r"prompts\[0\]"):
        encode(tok, [prompt], chat=False)
    with pytest.raises(errors.EmptyPromptError):
        generate_tokens(LoadedModel(model=model, tokenizer=tok), [prompt], max_new_tokens=2, chat=False)
    with pytest.raises(errors.EmptyPromptError, match=r"prompts\[1\]"):
        generate(LoadedModel(model=model, tokenizer=tok), ["hello", prompt], max_new_tokens=2, chat=False)
    no_template = tiny_tokenizer(chat_template=False)
    with pytest.raises(errors.EmptyPromptError):
        steered_generate(
            LoadedModel(model=model, tokenizer=no_template),
            torch.ones(WIDTH),
            1.0,
            [prompt],
            layers=1,
            max_new_tokens=2,
        )
    assert _unhooked(model)


def test_an_empty_prompt_in_a_chat_template_is_a_real_prompt(model: Any) -> None:
    from steering_core.prompts import encode

    batch = encode(tiny_tokenizer(), [""], chat=True)
    assert batch.input_ids.shape[1] > 0


@pytest.mark.parametrize(
    ("prompts", "needle"),
    [("hello", "not a single string"), ([3], "prompts[0]"), ([], "at least one"), (None, "sequence")],
    ids=["a-single-str", "not-a-str", "empty-list", "none"],
)
def test_prompts_of_the_wrong_type(model: Any, prompts: Any, needle: str) -> None:
    from steering_core.generate import generate

    with pytest.raises(errors.InvalidParameterError) as caught:
        generate(LoadedModel(model=model, tokenizer=tiny_tokenizer()), prompts, max_new_tokens=2)
    assert needle in str(caught.value)


def test_an_oversized_prompt_is_refused_before_tokenising(model: Any) -> None:
    from steering_core.prompts import MAX_PROMPT_CHARS, encode

    with pytest.raises(errors.InvalidParameterError, match="at most"):
        encode(tiny_tokenizer(), ["a" * (MAX_PROMPT_CHARS + 1)])


def test_batch_size_must_be_positive(model: Any) -> None:
    from steering_core.generate import generate

    with pytest.raises(errors.InvalidParameterError, match="batch_size"):
        generate(LoadedModel(model=model, tokenizer=tiny_tokenizer()), ["hi"], max_new_tokens=2, batch_size=0)


# ----------------------------------------------------------------------------- concurrency


def test_folded_steering_while_another_thread_steers_is_refused(model: Any) -> None:
    """Folded mode rewrites weights: it may not mix with another thread's steering."""
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with steer(model, torch.ones(WIDTH), 0.5, layers=1):
            inside.set()
            release.wait(30)

    state = {k: v.clone() for k, v in model.state_dict().items()}
    worker = threading.Thread(target=hold)
    worker.start()
    try:
        assert inside.wait(30)
        with pytest.raises(errors.SteeringError), steer(model, torch.ones(WIDTH), 1.0, layers=1, mode="folded"):
            pass
    finally:
        release.set()
        worker.join(30)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())
    assert _unhooked(model)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (SKIPPED on CPU-only machines)")
def test_mixed_devices_with_an_accelerator(model: Any) -> None:
    """A vector spread over two devices is refused; a vector on another device than the model is moved."""
    with pytest.raises(errors.DeviceMismatchError, match="one device"):
        SteeringVector(directions={1: torch.ones(WIDTH), 2: torch.ones(WIDTH, device="cuda")}, hidden_size=WIDTH)
    ids = torch.tensor([[5, 9, 12]])
    with torch.no_grad(), steer(model, torch.ones(WIDTH), 1.0, layers=1):
        on_cpu = model(ids).logits
    with torch.no_grad(), steer(model, torch.ones(WIDTH, device="cuda"), 1.0, layers=1):
        from_cuda = model(ids).logits
    assert torch.equal(on_cpu, from_cuda)


# ----------------------------------------------------------------------------- extract, diagnose, generate


@pytest.mark.parametrize(
    ("layers", "needle"),
    [(1.0, "float 1.0"), ([], "empty"), ([1, 1], "repeated"), ([9], "9"), ("1", "str")],
    ids=["float", "empty", "repeated", "out-of-range", "str"],
)
def test_extract_and_residual_norms_check_layers(model: Any, layers: Any, needle: str) -> None:
    from steering_core.diagnose import residual_norms
    from steering_core.extract import extract

    tok = tiny_tokenizer()
    with pytest.raises(errors.InvalidParameterError, match=needle):
        extract(LoadedModel(model=model, tokenizer=tok), style="terse", layers=layers)
    with pytest.raises(errors.InvalidParameterError, match=needle):
        residual_norms(LoadedModel(model=model, tokenizer=tok), ["hello"], layers=layers)


def test_residual_norms_needs_prompts(model: Any) -> None:
    from steering_core.diagnose import residual_norms

    with pytest.raises(errors.InvalidParameterError, match="prompts"):
        residual_norms(LoadedModel(model=model, tokenizer=tiny_tokenizer()), [])


def test_generate_needs_a_tokenizer_and_consistent_lengths(model: Any) -> None:
    from steering_core.generate import generate, generate_tokens

    with pytest.raises(errors.InvalidParameterError, match="tokenizer"):
        generate(LoadedModel(model=model, tokenizer=None), ["hello"], max_new_tokens=2)
    with pytest.raises(errors.InvalidParameterError, match="min_new_tokens"):
        generate_tokens(
            LoadedModel(model=model, tokenizer=tiny_tokenizer()), ["hello"], max_new_tokens=2, min_new_tokens=3
        )
    assert _unhooked(model)
