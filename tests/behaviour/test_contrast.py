"""Contrast sets and per-direction question sets: the committed files validate; bad files give typed errors."""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from steering_core.behaviour.contrast import (
    CONTRAST_DIR,
    MIN_PAIRS,
    ContrastSetError,
    load_contrast_set,
    parse_contrast_set,
)
from steering_core.behaviour.questions import (
    MIN_PER_HALF,
    QuestionSetError,
    load_question_set,
    parse_question_set,
    question_sets,
)
from steering_core.errors import InvalidParameterError
from steering_core.prompt_sets import prompt_set
from steering_core.styles import SEED_STYLES
from steering_core.tiny import make_tokenizer

STYLES = list(SEED_STYLES)


def _doc(style: str = "terse") -> dict[str, Any]:
    return tomllib.loads((CONTRAST_DIR / f"{style}.toml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("style", STYLES)
def test_committed_contrast_sets_validate(style: str) -> None:
    cs = load_contrast_set(style)
    assert cs.style == style and cs.version.startswith(style)
    assert len(cs.select(include_seed=False)) >= MIN_PAIRS
    seed = SEED_STYLES[style].pairs[0]
    assert (cs.seed_pair.positive, cs.seed_pair.negative) == (seed.positive, seed.negative)
    assert len({p.frame for p in cs.pairs}) >= 5  # varied contexts, not one framing
    assert len(cs.sha256) == 64


@pytest.mark.parametrize("style", STYLES)
def test_templated_style_renders_every_pair_with_the_pole_in_place(style: str) -> None:
    cs = load_contrast_set(style)
    tok = make_tokenizer()
    st = cs.templated_style(tok)
    assert len(st.pairs) == len(cs.pairs)
    for pair, rendered in zip(cs.pairs, st.pairs, strict=True):
        assert pair.positive in rendered.positive and pair.negative in rendered.negative
        assert "{pole}" not in rendered.positive + rendered.negative
        assert rendered.positive.endswith("<|assistant|>\n")
        # the two poles share everything but the pole text
        assert rendered.positive.replace(pair.positive, "") == rendered.negative.replace(pair.negative, "")
    plain = cs.plain_style(include_seed=False)
    assert all(p.positive for p in plain.pairs) and len(plain.pairs) < len(cs.pairs)


def test_templated_style_extracts_on_a_tiny_model() -> None:
    from steering_core.extract import extract
    from steering_core.models import LoadedModel
    from steering_core.tiny import make_tiny_model

    tok = make_tokenizer()
    lm = LoadedModel(model=make_tiny_model("qwen2"), tokenizer=tok)
    style = load_contrast_set("dry-wit").templated_style(tok, frames=["system"])
    vec = extract(lm, style=style, layers=[1], chat=False)
    assert vec[1].isfinite().all() and vec.norm(1) > 0


def _broken(mutate: Any, style: str = "terse") -> str:
    doc = copy.deepcopy(_doc(style))
    mutate(doc)
    with pytest.raises(ContrastSetError) as info:
        parse_contrast_set(doc, expected_style=style)
    assert isinstance(info.value, InvalidParameterError)
    return info.value.parameter


def test_schema_errors_name_the_field() -> None:
    assert _broken(lambda d: d.update(schema="x")) == "schema"
    assert _broken(lambda d: d.update(style="formal")) == "style"
    assert _broken(lambda d: d.update(version="  ")) == "version"
    assert _broken(lambda d: d.update(colour="red")) == "colour"
    assert _broken(lambda d: d["pairs"][3].update(frame="poem")) == "pairs[3].frame"
    assert _broken(lambda d: d["pairs"][3].update(id="Bad Id")) == "pairs[3].id"
    assert _broken(lambda d: d["pairs"][4].update(id=d["pairs"][3]["id"])) == "pairs[4].id"
    assert _broken(lambda d: d["pairs"][2].update(negative=d["pairs"][2]["positive"])) == "pairs[2].negative"
    assert _broken(lambda d: d["pairs"][2].pop("positive")) == "pairs[2].positive"
    assert _broken(lambda d: d["pairs"][2].update(extra=1)) == "pairs[2].extra"
    assert _broken(lambda d: d["pairs"][6]["messages"][0].update(role="robot")) == "pairs[6].messages[0].role"
    assert _broken(lambda d: d["pairs"][6]["messages"][1].update(content="")) == "pairs[6].messages[1].content"
    assert _broken(lambda d: d["pairs"][6]["messages"][1].update(content="{pole}")) == "pairs[6].messages"
    assert _broken(lambda d: d["pairs"][6]["messages"].reverse()) == "pairs[6].messages[1].role"
    assert _broken(lambda d: d["pairs"][6].update(messages=[])) == "pairs[6].messages"
    assert _broken(lambda d: d["pairs"][0].update(positive="Be short.")) == "pairs[0]"
    assert _broken(lambda d: d.update(pairs=d["pairs"][:MIN_PAIRS])) == "pairs"
    assert _broken(lambda d: d.update(pairs=d["pairs"][1:])) == "pairs"  # no seed pair
    assert _broken(lambda d: d["pairs"][1].update(positive="x" * 5000)) == "pairs[1].positive"


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ContrastSetError) as info:
        load_contrast_set("terse", tmp_path)
    assert info.value.parameter == "style"
    (tmp_path / "terse.toml").write_text("schema = [", encoding="utf-8")
    with pytest.raises(ContrastSetError):
        load_contrast_set("terse", tmp_path)
    with pytest.raises(InvalidParameterError):
        load_contrast_set("../etc/passwd")


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("direction", ["positive", "negative"])
def test_committed_question_sets_validate(style: str, direction: str) -> None:
    qs = load_question_set(style, direction)
    assert qs.sign == (1 if direction == "positive" else -1)
    assert qs.metric_direction == qs.sign * (-1 if style == "terse" else 1)
    assert len(qs.search) >= MIN_PER_HALF and len(qs.held_out) >= MIN_PER_HALF
    assert len(qs.questions("all")) >= 12
    # held-out questions are new: not in the contrast set's contexts, nor the neutral evaluation set
    contexts = " ".join(str(p) for p in load_contrast_set(style).pairs)
    for q in qs.held_out:
        assert q not in contexts and q not in prompt_set("neutral-questions-v1")


def test_every_style_has_both_directions() -> None:
    assert sorted(question_sets()) == sorted((s, d) for s in STYLES for d in ("positive", "negative"))


def test_question_set_errors_name_the_field(tmp_path: Path) -> None:
    base = json.loads(
        load_question_set("terse", "positive").source
        and Path(load_question_set("terse", "positive").source).read_text()
    )
    for mutate, field in [
        (lambda d: d.update(schema="x"), "schema"),
        (lambda d: d.update(direction="up"), "direction"),
        (lambda d: d.update(search=d["search"][:2]), "search"),
        (lambda d: d["held_out"].__setitem__(0, d["search"][0]), "held_out"),
        (lambda d: d["held_out"].__setitem__(1, ""), "held_out[1]"),
        (lambda d: d.update(extra=1), "extra"),
    ]:
        doc = copy.deepcopy(base)
        mutate(doc)
        with pytest.raises(QuestionSetError) as info:
            parse_question_set(doc, ("terse", "positive"))
        assert info.value.parameter == field
    with pytest.raises(QuestionSetError):
        load_question_set("terse", "positive", tmp_path)
    with pytest.raises(InvalidParameterError):
        load_question_set("terse", "sideways")


def test_pair_consistency_on_hand_examples() -> None:
    import torch

    from steering_core.behaviour.contrast import pair_consistency

    same = pair_consistency(torch.tensor([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]]))
    assert same.mean_pairwise_cosine == pytest.approx(1.0) and same.loo_agreement == 1.0
    mixed = pair_consistency(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]))
    # cosines: (0,1)=0, (0,2)=-1, (1,2)=0 -> mean -1/3; leave-one-out: pair 0 vs (-0.5, 0.5) -> cos 135 deg,
    # pair 1 vs (0, 0) -> 0 (no direction), pair 2 vs (0.5, 0.5) -> cos 135 deg; none agrees
    assert mixed.mean_pairwise_cosine == pytest.approx(-1 / 3)
    assert mixed.loo_cosines == pytest.approx((-(2**-0.5), 0.0, -(2**-0.5)))
    assert mixed.loo_agreement == 0.0
    with pytest.raises(InvalidParameterError):
        pair_consistency(torch.ones(1, 4))
