"""The lens (bleed) eval: vocabulary file, scorer, bands, report, and the eval through ``steer``.

The eval test uses a tiny Qwen2 model set by hand: every decoder layer is the identity (attention
and MLP outputs zeroed), so the final hidden state is the last token's embedding plus whatever the
steering hook adds. Unsteered it repeats ``z``; a step along one direction (dimension 30) makes it
spell ``guile guile guile ...``, which only the ``guile`` lens matches.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import torch

from steering_core.behaviour.lens import (
    AMBIENT_BELOW,
    CAPTURED_UP_TO,
    CLEAN_BELOW,
    LENS_SCHEMA,
    PROBE_SET,
    LensReport,
    band,
    compare_answers,
    count_text,
    lens_digest,
    lens_eval,
    load_lenses,
    matched_words,
    parse_lenses,
    prompts_digest,
    score_answers,
    score_text,
)
from steering_core.errors import InvalidParameterError, LayerOutOfRangeError
from steering_core.generate import generate, steered_generate
from steering_core.prompt_sets import prompt_set, prompt_set_digest
from steering_core.steer import hook_snapshot
from steering_core.text import word_count

SPEC = Path(__file__).resolve().parents[2] / "steering_core" / "data"  # the shipped lenses.json
LENS_NAMES = [
    "makefile",
    "guile",
    "orgmode",
    "monetization",
    "sports",
    "religion",
    "politics",
    "ai_hype",
    "conspiracy",
    "scarcity_mindset",
    "therapy_speak",
    "spec_driven",
]
# Pinned: any edit to lenses-v1 or lens-probes-v1 must come as a new version instead.
LENSES_V1_SHA256 = "a42e70c97a7c951ef9ff040dd66437acef68cfa4f8dbca3ff3d1b88b6a55a782"
PROBES_V1_SHA256 = "9654efe1ce69008459a59c524139afd543a3da444055935b1878da9746343ab8"


# --------------------------------------------------------------------------- vocabulary file
def test_vocabulary_schema_version_and_lenses() -> None:
    lenses = load_lenses()
    assert lenses.schema == LENS_SCHEMA == "steering-spec/lenses/1"
    assert lenses.version == "lenses-v1"
    assert lenses.names == LENS_NAMES
    for lens in lenses.lenses:
        assert lens.description.strip()
        assert 15 <= len(lens.patterns) <= 55, lens.name
        assert len(lens.examples) >= 3


def test_digest_is_pinned_and_independent_of_formatting() -> None:
    document = json.loads((SPEC / "lenses.json").read_text(encoding="utf-8"))
    assert load_lenses().sha256 == lens_digest(document) == LENSES_V1_SHA256
    reformatted = json.loads(json.dumps(document, indent=None, sort_keys=False))
    assert lens_digest(reformatted) == LENSES_V1_SHA256
    changed = json.loads(json.dumps(document))
    changed["lenses"][0]["patterns"].append("ninja")
    assert lens_digest(changed) != LENSES_V1_SHA256
    assert load_lenses(SPEC / "lenses.json").sha256 == LENSES_V1_SHA256


def test_every_example_scores_on_its_own_lens() -> None:
    for lens in load_lenses().lenses:
        for example in lens.examples:
            assert score_text(example)[lens.name] > 0, (lens.name, example)


def test_patterns_use_the_normalised_word_form() -> None:
    for lens in load_lenses().lenses:
        for pattern in lens.patterns:
            # Hyphens and punctuation never reach the normalised text; \b and ^/$ are implied.
            assert not any(ch in pattern for ch in '-_.,;!"^$'), (lens.name, pattern)
            assert "\\b" not in pattern and pattern == pattern.lower(), (lens.name, pattern)


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda d: d.update(schema="steering-spec/lenses/2"), "schema"),
        (lambda d: d.update(version="v1"), "version"),
        (lambda d: d["lenses"].append(dict(d["lenses"][0])), "unique names"),
        (lambda d: d["lenses"][0].update(patterns=[]), "patterns"),
        (lambda d: d["lenses"][0].update(patterns=["(unclosed"]), "valid Python regular"),
        (lambda d: d["lenses"][0].update(patterns=["(?:x)?"]), "empty string"),
        (lambda d: d["lenses"][0].update(patterns=["a", "a"]), "duplicates"),
        (lambda d: d["lenses"][0].update(name="Make-File"), "name"),
        (lambda d: d["lenses"][0].update(extra=1), "keys"),
    ],
)
def test_bad_documents_are_refused(edit: Any, where: str) -> None:
    document = json.loads((SPEC / "lenses.json").read_text(encoding="utf-8"))
    edit(document)
    with pytest.raises(InvalidParameterError, match=where):
        parse_lenses(document)


# --------------------------------------------------------------------------- scorer
def test_exact_fractions_on_hand_made_texts() -> None:
    text = "The makefile has a phony target."
    assert count_text(text)["makefile"].matched == 3 and count_text(text)["makefile"].words == 6
    assert score_text(text)["makefile"] == 0.5
    assert matched_words(text, "makefile") == ["makefile", "phony", "target"]
    assert all(v == 0.0 for k, v in score_text(text).items() if k != "makefile")
    assert score_text("Revenue, profit and pricing: monetize!")["monetization"] == 4 / 5


def test_multi_word_patterns_count_every_word_of_the_span() -> None:
    text = "They don't want you to know this."
    assert score_text(text)["conspiracy"] == 6 / 7
    assert matched_words(text, "conspiracy") == ["they", "don't", "want", "you", "to", "know"]
    # Punctuation between the words does not break a phrase; hyphens split words.
    assert score_text("Wake up, sheeple!")["conspiracy"] == 1.0
    assert score_text("an AI-powered app")["ai_hype"] == 2 / 4  # "ai powered" and "ai" share the word "ai"
    # A typographic apostrophe is the same word.
    assert score_text("They don’t want you to know.") == score_text("They don't want you to know.")


def test_overlapping_matches_count_each_word_once_and_words_may_count_for_several_lenses() -> None:
    assert count_text("Only a few left.")["scarcity_mindset"].matched == 4  # two patterns overlap
    both = count_text("Emacs Lisp.")
    assert both["guile"].matched == 2 and both["orgmode"].matched == 1  # 'emacs lisp'; 'emacs'
    assert both["guile"].words == both["orgmode"].words == 2


def test_case_insensitive() -> None:
    assert score_text("GUILE SCHEME") == score_text("guile scheme") == score_text("Guile Scheme")
    assert score_text("GUILE SCHEME")["guile"] == 1.0


@pytest.mark.parametrize(
    ("text", "lens"),
    [
        ("targeted", "makefile"),  # 'targets?' is a whole word, never a prefix
        ("scheming schemes", "guile"),
        ("godly", "religion"),
        ("aim", "ai_hype"),
        ("sportswear", "sports"),
        ("the target temperature", "makefile"),  # bare 'target' is everyday: only in lens phrases
        ("Let the dough proof, then build the loaf.", "spec_driven"),
        ("Wake up early and make coffee.", "conspiracy"),
        ("finding closure after a loss", "guile"),
    ],
)
def test_no_partial_word_or_everyday_false_positives(text: str, lens: str) -> None:
    assert score_text(text)[lens] == 0.0


def test_word_total_is_steering_core_text_words() -> None:
    text = "Bread: flour, water, salt & yeast; knead 10 min. Don't rush — it's fine."
    assert count_text(text)["religion"].words == word_count(text) == 12  # '&' and '—' are not words
    assert score_text("") == score_text("!!! ---") == dict.fromkeys(LENS_NAMES, 0.0)


def test_score_answers_pools_words_and_reports_per_answer() -> None:
    scores = score_answers(["makefile makefile", "a b c d e f g h"])
    assert scores.words == 10 and scores.matched["makefile"] == 2
    assert scores.pooled["makefile"] == 0.2  # not the mean of per-answer scores (0.5)
    assert [s["makefile"] for s in scores.per_answer] == [1.0, 0.0]
    empty = score_answers([])
    assert empty.words == 0 and set(empty.pooled.values()) == {0.0}
    with pytest.raises(InvalidParameterError):
        score_answers("makefile")


# --------------------------------------------------------------------------- bands
@pytest.mark.parametrize(
    ("fraction", "expected"),
    [
        (0.0, "clean"),
        (0.0099, "clean"),
        (0.01, "ambient"),
        (1 / 100, "ambient"),
        (0.0299, "ambient"),
        (0.03, "captured"),
        (3 / 100, "captured"),
        (6 / 200, "captured"),
        (0.05, "captured"),
        (5 / 100, "captured"),
        (math.nextafter(0.05, 1.0), "full"),
        (1.0, "full"),
    ],
)
def test_band_boundaries(fraction: float, expected: str) -> None:
    assert band(fraction) == expected


def test_band_is_exact_for_word_ratios() -> None:
    thresholds = (Fraction(1, 100), Fraction(3, 100), Fraction(5, 100))
    assert tuple(float(t) for t in thresholds) == (CLEAN_BELOW, AMBIENT_BELOW, CAPTURED_UP_TO)
    for words in range(1, 401):
        for matched in range(0, min(words, 30) + 1):
            exact = Fraction(matched, words)
            want = (
                "clean"
                if exact < thresholds[0]
                else "ambient"
                if exact < thresholds[1]
                else "captured"
                if exact <= thresholds[2]
                else "full"
            )
            assert band(matched / words) == want, (matched, words)


@pytest.mark.parametrize("bad", [-0.01, 1.01, math.nan, math.inf, True, "0.1", None])
def test_band_refuses_non_fractions(bad: Any) -> None:
    with pytest.raises(InvalidParameterError):
        band(bad)


# --------------------------------------------------------------------------- probe set
def test_probe_set_has_ten_neutral_prompts() -> None:
    probes = prompt_set(PROBE_SET)
    assert len(probes) == 10 == len(set(probes))
    joined = " ".join(probes).lower()
    assert all(topic in joined for topic in ("bread", "grief", "tides"))
    assert prompt_set_digest(PROBE_SET) == prompts_digest(probes) == PROBES_V1_SHA256
    for probe in probes:  # the questions themselves use no lens vocabulary
        assert set(score_text(probe).values()) == {0.0}, probe
    assert len(prompt_set("neutral-questions-v1")) == 12  # the existing set is untouched


# --------------------------------------------------------------------------- report
def _report() -> LensReport:
    return compare_answers(
        ["Bread needs flour and water.", "Tides follow the moon."],
        ["Bread needs a makefile target and a phony recipe.", "Tides follow the Makefile."],
        style="terse",
        layer=12,
        alpha=0.5,
        ratio=0.3,
        prompt_set="custom",
        prompt_set_sha256=prompts_digest(["a", "b"]),
        max_new_tokens=48,
    )


def test_report_shape_round_trip_and_markdown() -> None:
    report = _report()
    data = report.to_dict()
    assert list(data) == [
        "style",
        "layer",
        "alpha",
        "ratio",
        "prompt_set",
        "prompt_set_sha256",
        "lens_version",
        "lens_sha256",
        "max_new_tokens",
        "lenses",
        "answers",
    ]
    assert data["lens_version"] == "lenses-v1" and data["lens_sha256"] == LENSES_V1_SHA256
    assert [row["name"] for row in data["lenses"]] == LENS_NAMES
    make = data["lenses"][0]
    assert list(make) == ["name", "baseline", "steered", "change", "band_baseline", "band_steered"]
    assert make["baseline"] == 0.0 and make["steered"] == 3 / 13 and make["change"] == 3 / 13
    assert (make["band_baseline"], make["band_steered"]) == ("clean", "full")
    assert data["answers"]["baseline"][1] == "Tides follow the moon."
    assert LensReport.from_dict(json.loads(json.dumps(data))) == report
    table = report.to_markdown(caption=False).splitlines()
    assert table[0] == "| lens | baseline % | band | steered % | band | change pp |"
    assert table[2] == "| makefile | 0.00 | clean | 23.08 | full | +23.08 |"
    assert len(table) == 2 + len(LENS_NAMES)
    assert report.to_markdown().startswith("Lens eval: style terse, layer 12, alpha 0.5")
    with pytest.raises(InvalidParameterError):
        compare_answers(
            ["a"], [], style="s", layer=0, alpha=1.0, ratio=0.0, prompt_set="x", prompt_set_sha256="y", max_new_tokens=1
        )


# --------------------------------------------------------------------------- through the steering hook
SPELL = "guile "
STEER_DIM, BASE_DIM = 30, 20


def _spelling_model() -> tuple[Any, Any, torch.Tensor]:
    """A tiny Qwen2 whose greedy output is 'zzz...' unsteered and 'guile guile ...' along dim 30."""
    from tokenizers import decoders

    from tests.conftest import make_tiny_model, make_tokenizer

    tokenizer = make_tokenizer()
    tokenizer.backend_tokenizer.decoder = decoders.Fuse()  # join characters without spaces
    model = make_tiny_model("qwen2")
    ids = {ch: tokenizer.convert_tokens_to_ids(ch) for ch in SPELL + "z"}
    with torch.no_grad():
        for layer in model.model.layers:  # identity layers: the residual is the embedding
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        model.model.norm.weight.fill_(1.0)
        embed = model.get_input_embeddings().weight
        embed.zero_()
        embed[:, BASE_DIM] = 1.0  # every token carries the base direction
        head = model.lm_head.weight
        head.zero_()
        head[ids["z"], BASE_DIM] = 2.0  # unsteered: 'z' wins (2 > 0) and repeats
        for k, ch in enumerate(SPELL):
            embed[ids[ch], k] = 1.0  # the character's own direction
            nxt = SPELL[(k + 1) % len(SPELL)]
            head[ids[nxt], k] = 1.0  # its successor in 'guile ' gets +1 after it
            head[ids[nxt], STEER_DIM] = 1.0  # every letter of the word gets +alpha when steered
        head[ids["g"], STEER_DIM] = 1.1  # ... 'g' a little more, so the word starts with 'g'
    vector = torch.zeros(model.config.hidden_size)
    vector[STEER_DIM] = 1.0
    return model, tokenizer, vector


def test_eval_runs_through_the_steering_hook() -> None:
    model, tokenizer, vector = _spelling_model()
    assert hook_snapshot(model) == {}
    kwargs: dict[str, Any] = dict(vector=vector, layer=1, n_prompts=3, max_new_tokens=20, residual_norm=2.0)
    report = lens_eval(model, tokenizer, alpha=4.0, **kwargs)
    assert hook_snapshot(model) == {}  # every hook removed on return
    assert report.baseline_answers == ("z" * 20,) * 3
    assert all(a.startswith("guile guile guile") for a in report.steered_answers)
    guile = report.row("guile")
    assert guile.baseline == 0.0 and guile.steered >= 0.75 and guile.change == guile.steered
    assert (guile.band_baseline, guile.band_steered) == ("clean", "full")
    assert all(r.steered == 0.0 for r in report.lenses if r.name != "guile")
    assert report.ratio == 4.0 * 1.0 / 2.0 and report.style == "custom" and report.layer == 1
    assert report.prompt_set == f"{PROBE_SET}[:3]"
    assert report.prompt_set_sha256 == prompts_digest(prompt_set(PROBE_SET)[:3])
    # The same answers as steering by hand with the library's own generate functions.
    probes = prompt_set(PROBE_SET)[:3]
    assert tuple(generate(model, tokenizer, probes, 20)) == report.baseline_answers
    assert tuple(steered_generate(model, tokenizer, vector, 4.0, probes, layers=1, max_new_tokens=20)) == (
        report.steered_answers
    )

    zero = lens_eval(model, tokenizer, alpha=0.0, **kwargs)
    assert zero.steered_answers == zero.baseline_answers == report.baseline_answers
    assert all(r.steered == r.baseline and r.change == 0.0 for r in zero.lenses)
    assert zero.ratio == 0.0
    # A baseline given is reused as is (no second unhooked generation).
    reused = lens_eval(model, tokenizer, alpha=4.0, baseline_answers=["makefile"] * 3, **kwargs)
    assert reused.row("makefile").baseline == 1.0 and reused.steered_answers == report.steered_answers
    assert hook_snapshot(model) == {}


def test_eval_measures_the_ratio_and_refuses_bad_input_before_generating(monkeypatch: pytest.MonkeyPatch) -> None:
    model, tokenizer, vector = _spelling_model()
    report = lens_eval(model, tokenizer, vector=vector, alpha=4.0, layer=1, prompts=["Hi?"], max_new_tokens=2)
    assert report.prompt_set == "custom" and report.ratio == pytest.approx(4.0)  # |h| = 1 past the first token

    def no_generation(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("generated before validating")

    monkeypatch.setattr(sys.modules["steering_core.generate"], "generate_tokens", no_generation)
    with pytest.raises(LayerOutOfRangeError):
        lens_eval(model, tokenizer, vector=vector, alpha=1.0, layer=99)
    with pytest.raises(InvalidParameterError, match="baseline_answers"):
        lens_eval(model, tokenizer, vector=vector, alpha=1.0, layer=1, baseline_answers=["only one"])
    with pytest.raises(InvalidParameterError, match="tokenizer"):
        lens_eval(model, vector=vector, alpha=1.0, layer=1)
    with pytest.raises(InvalidParameterError, match="prompt_set"):
        lens_eval(model, tokenizer, vector=vector, alpha=1.0, layer=1, prompts="no-such-set")
    assert hook_snapshot(model) == {}


# --------------------------------------------------------------------------- command line
def test_cli_prints_the_table_and_writes_json_and_markdown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from steering_core.behaviour.lens_cli import add_lens_subcommand
    from tests.conftest import make_tiny_model, make_tokenizer

    model_dir = tmp_path / "tiny"
    make_tiny_model("qwen3").save_pretrained(model_dir)
    make_tokenizer().save_pretrained(model_dir)
    parser = argparse.ArgumentParser(prog="steer")
    add_lens_subcommand(parser.add_subparsers(dest="command", required=True))
    defaults = parser.parse_args(["lens"])
    assert (defaults.style, defaults.alpha, defaults.layers, defaults.max_new_tokens) == ("terse", 0.5, [12], 64)
    out_json, out_md = tmp_path / "lens.json", tmp_path / "lens.md"
    args = parser.parse_args(
        [
            "lens",
            "--model",
            str(model_dir),
            "--layers",
            "1",
            "--alpha",
            "2",
            "--n-prompts",
            "2",
            "--max-new-tokens",
            "4",
            "--json",
            str(out_json),
            "--markdown",
            str(out_md),
        ]
    )
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "perturbation ratio" in out and "baseline %" in out and "change pp" in out
    assert all(name in out for name in LENS_NAMES)
    data = json.loads(out_json.read_text(encoding="utf-8"))
    assert data["style"] == "terse" and data["layer"] == 1 and data["prompt_set"] == f"{PROBE_SET}[:2]"
    assert len(data["answers"]["steered"]) == 2 and data["ratio"] > 0
    assert "| lens | baseline % | band | steered % | band | change pp |" in out_md.read_text(encoding="utf-8")
