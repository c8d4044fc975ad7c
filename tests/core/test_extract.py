"""Extraction on tiny models: one pass for all layers, batching invariance, read positions,
aggregators, and agreement with an independent reference implementation."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from steering_core.extract import aggregate, extract, read_activations
from steering_core.models import LoadedModel
from steering_core.ops import vector_norm
from steering_core.prompts import chat_text
from steering_core.styles import SEED_STYLES, ContrastPair, make_style
from tests.conftest import LAYERS


@pytest.fixture
def lm(tiny: Any, tokenizer: Any) -> LoadedModel:
    return LoadedModel(model=tiny, tokenizer=tokenizer)


PAIRS = [
    ("Be brief.", "Explain everything at great length please."),
    ("Answer formally.", "talk to me like a friend"),
    ("Use questions only.", "Just tell me."),
]


def _count_forwards(model: Any) -> tuple[list[int], Any]:
    calls: list[int] = []
    handle = model.register_forward_pre_hook(lambda _m, _a: calls.append(1))
    return calls, handle


def test_all_layers_cost_one_forward_pass(lm: LoadedModel, tiny: Any) -> None:
    calls, handle = _count_forwards(tiny)
    try:
        vec = extract(lm, style=PAIRS, batch_size=16)
    finally:
        handle.remove()
    assert len(calls) == 1  # 3 pairs = 6 prompts, one batch, every layer
    assert vec.layer_indices == list(range(LAYERS))


def test_batched_equals_one_at_a_time(lm: LoadedModel) -> None:
    batched = extract(lm, style=PAIRS, batch_size=6)
    single = extract(lm, style=PAIRS, batch_size=1)
    for layer in batched:
        assert torch.allclose(batched[layer], single[layer], atol=1e-5, rtol=1e-5), layer


def _reference_last_token(model: Any, tokenizer: Any, text: str) -> torch.Tensor:
    """Independent oracle: one unpadded prompt, hidden states from output_hidden_states."""
    ids = tokenizer(chat_text(tokenizer, text), add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        out = model(input_ids=ids, output_hidden_states=True)
    # hidden_states[i + 1] is the output of layer i, except the last entry (after the final norm).
    return torch.stack([out.hidden_states[i + 1][0, -1] for i in range(LAYERS - 1)])


def test_last_position_matches_reference_implementation(lm: LoadedModel, tiny: Any, tokenizer: Any) -> None:
    vec = extract(lm, style=PAIRS, batch_size=6)
    diffs = torch.stack(
        [_reference_last_token(tiny, tokenizer, p) - _reference_last_token(tiny, tokenizer, n) for p, n in PAIRS]
    )
    expected = diffs.mean(dim=0)
    for layer in range(LAYERS - 1):
        assert torch.allclose(vec[layer], expected[layer], atol=1e-5, rtol=1e-5), layer


def test_mean_position_reads_only_the_prompts_own_tokens(lm: LoadedModel, tiny: Any, tokenizer: Any) -> None:
    texts = ["Be brief.", "Explain everything at great length please."]
    acts = read_activations(lm, texts, [1], read_at="mean", batch_size=2)
    for row, text in enumerate(texts):
        templated = chat_text(tokenizer, text)
        enc = tokenizer(templated, add_special_tokens=False, return_offsets_mapping=True, return_tensors="pt")
        start = templated.rfind(text)
        own = [s < start + len(text) and e > start for s, e in enc["offset_mapping"][0].tolist()]
        captured: list[torch.Tensor] = []
        handle = tiny.model.layers[1].register_forward_hook(
            lambda _m, _a, out, sink=captured: sink.append(out if isinstance(out, torch.Tensor) else out[0])
        )
        try:
            with torch.no_grad():
                tiny(input_ids=enc["input_ids"])
        finally:
            handle.remove()
        expected = captured[0][0, torch.tensor(own)].mean(dim=0)
        assert torch.allclose(acts[row, 0], expected, atol=1e-5), row


def test_pca_of_one_pair_is_the_difference(lm: LoadedModel) -> None:
    mean = extract(lm, style=PAIRS[:1], aggregator="mean")
    pca = extract(lm, style=PAIRS[:1], aggregator="pca")
    for layer in mean:
        assert torch.allclose(mean[layer], pca[layer], atol=1e-5, rtol=1e-4)


def test_pca_recovers_a_shared_direction() -> None:
    gen = torch.Generator().manual_seed(0)
    direction = torch.randn(64, generator=gen)
    direction /= direction.norm()
    scales = torch.tensor([1.0, 2.0, 3.0, 4.0])
    noise = 0.01 * torch.randn(4, 1, 64, generator=gen)
    diffs = scales[:, None, None] * direction + noise
    out = aggregate(diffs, "pca")[0]
    cosine = torch.dot(out, direction) / out.norm()
    assert cosine > 0.999
    assert abs(float(out.norm()) - 2.5) < 0.05  # scaled to the mean projection


def test_normalize_gives_unit_vectors(lm: LoadedModel) -> None:
    vec = extract(lm, style="terse", normalize=True)
    assert vec.recipe is not None and vec.recipe.normalized
    for norm in vec.norms().values():
        assert abs(norm - 1.0) < 1e-6


def test_recipe_and_identity_are_recorded(lm: LoadedModel) -> None:
    vec = extract(lm, style="formal", layers=[1, 2], read_at="mean", aggregator="pca")
    assert vec.style == "formal"
    assert vec.layer_indices == [1, 2]
    assert vec.hidden_size == 64 and vec.num_layers == LAYERS
    assert vec.recipe is not None
    assert vec.recipe.pairs == SEED_STYLES["formal"].pairs
    assert (vec.recipe.read_at, vec.recipe.aggregator) == ("mean", "pca")
    assert all(vector_norm(vec[x]) > 0 for x in vec)


def test_seed_styles_carry_the_verbatim_poles() -> None:
    assert SEED_STYLES["terse"].pairs[0] == ContrastPair(
        positive="Be extremely concise and technical. No filler words.",
        negative="Please explain thoroughly with lots of context and examples.",
    )
    assert SEED_STYLES["formal"].pairs[0] == ContrastPair(
        positive="Respond in precise, formal academic prose.", negative="Just chat with me casually."
    )
    assert SEED_STYLES["socratic"].pairs[0] == ContrastPair(
        positive="Respond only with targeted clarifying questions.", negative="Give me the answer directly."
    )
    assert SEED_STYLES["dry-wit"].pairs[0] == ContrastPair(
        positive="Respond with dry understatement and laconic precision.",
        negative="Be enthusiastic, warm, and encouraging.",
    )


def test_user_defined_styles(lm: LoadedModel) -> None:
    style = make_style(
        "pirate", [("Talk like a pirate.", "Talk like a lawyer."), ContrastPair(positive="Arr.", negative="Indeed.")]
    )
    vec = extract(lm, style=style, layers=[0])
    assert vec.style == "pirate" and len(vec.recipe.pairs) == 2  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "bad", [{"position": "first"}, {"aggregator": "median"}, {"layers": [LAYERS]}, {"batch_size": 0}]
)
def test_bad_extraction_arguments_are_refused(lm: LoadedModel, bad: dict[str, Any]) -> None:
    from steering_core.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError) as info:
        extract(lm, style="terse", **bad)
    assert next(iter(bad)) in str(info.value) or "layer" in str(info.value)
