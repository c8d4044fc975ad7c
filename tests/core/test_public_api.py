"""The public API's one vocabulary, and the old spellings kept for one release.

* One way to pass a model: every public function takes the loaded model (``LoadedModel``); the
  old ``f(model, tokenizer, ...)`` form gives the same result with a ``DeprecationWarning``.
* One steering verb: ``steer(lm, vector, ...)``; ``vector.apply(model, ...)`` is its deprecated alias.
* Names that do not collide: ``SteeringVector.directions`` (``.layers`` deprecated), ``read_at=``
  (``position=`` deprecated), ``Recipe.read_at`` (``Recipe.position`` deprecated); serialised
  keys unchanged.
* Keyword-only construction of the library's dataclasses.
* The README's example runs as written (on a tiny model instead of the embedded one).
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch

from steering_core.diagnose import LayerDiagnosis, LayerNorms, residual_norms
from steering_core.extract import extract, read_activations
from steering_core.fold import export_folded
from steering_core.generate import generate, generate_tokens, steered_generate
from steering_core.hooks import hook_snapshot
from steering_core.models import EmbeddedModel, GgufPart, LoadedModel
from steering_core.plan import CompiledPlan, CompiledTerm, Term
from steering_core.prompts import EncodedBatch
from steering_core.steer import RowSteeringHandle, SteeringHandle, steer, steer_rows
from steering_core.styles import ContrastPair, Style
from steering_core.sweep import Judgement, SweepCell, SweepResult, Thresholds, alpha_sweep
from steering_core.tiny import make_tiny_model, make_tokenizer
from steering_core.vector import Recipe, SteeringVector

REPO = Path(__file__).resolve().parents[2]
PROMPTS = ["Explain what a mutex is.", "Name a prime number."]
LAYER = 1
ALPHA = 8.0


@pytest.fixture(scope="module")
def lm() -> LoadedModel:
    return LoadedModel(model=make_tiny_model("qwen2"), tokenizer=make_tokenizer(), name="tiny-qwen2", source="memory")


@pytest.fixture(scope="module")
def vector(lm: LoadedModel) -> SteeringVector:
    return extract(lm, style="terse", layers=[LAYER])


def _new_form_silent(call: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        return call()


def _old_form_warns(call: Any, match: str) -> Any:
    with pytest.warns(DeprecationWarning, match=match) as record:
        out = call()
    assert all(Path(w.filename).resolve() == Path(__file__).resolve() for w in record), [w.filename for w in record]
    return out


def test_every_public_function_takes_the_loaded_model_and_the_old_form_warns(
    lm: LoadedModel, vector: SteeringVector, tmp_path: Path
) -> None:
    model, tok = lm.model, lm.tokenizer
    pairs = [
        (lambda: generate(lm, PROMPTS, 4), lambda: generate(model, tok, PROMPTS, 4), r"generate\(model, tokenizer"),
        (
            lambda: generate_tokens(lm, PROMPTS, 4),
            lambda: generate_tokens(model, tok, PROMPTS, 4),
            r"generate_tokens\(model, tokenizer",
        ),
        (
            lambda: steered_generate(lm, vector, 4.0, PROMPTS, max_new_tokens=4),
            lambda: steered_generate(model, tok, vector, 4.0, PROMPTS, max_new_tokens=4),
            r"steered_generate\(model, tokenizer",
        ),
        (
            lambda: extract(lm, style="formal", layers=[LAYER]).directions[LAYER],
            lambda: extract(model, tok, style="formal", layers=[LAYER], model_name="tiny-qwen2").directions[LAYER],
            r"extract\(model, tokenizer",
        ),
        (
            lambda: read_activations(lm, PROMPTS, [LAYER]),
            lambda: read_activations(model, tok, PROMPTS, [LAYER]),
            r"read_activations\(model, tokenizer",
        ),
        (
            lambda: residual_norms(lm, PROMPTS, [LAYER]),
            lambda: residual_norms(model, tok, PROMPTS, [LAYER]),
            r"residual_norms\(model, tokenizer",
        ),
    ]
    for new, old, match in pairs:
        a, b = _new_form_silent(new), _old_form_warns(old, match)
        if isinstance(a, torch.Tensor):
            assert torch.equal(a, b), match
        else:
            assert a == b, match
    norms = residual_norms(lm, PROMPTS, [LAYER])
    swept = _new_form_silent(lambda: alpha_sweep(lm, vector, [LAYER], [0.0, 4.0], PROMPTS, norms, 4))
    old_swept = _old_form_warns(
        lambda: alpha_sweep(model, tok, vector, [LAYER], [0.0, 4.0], PROMPTS, norms, 4), r"alpha_sweep\(model"
    )
    assert swept.to_dict() == old_swept.to_dict()
    deltas = {LAYER: vector[LAYER] * 0.5}
    new_dir = _new_form_silent(lambda: export_folded(lm, deltas, tmp_path / "new"))
    old_dir = _old_form_warns(lambda: export_folded(model, tok, deltas, tmp_path / "old"), r"export_folded\(model")
    assert sorted(p.name for p in new_dir.iterdir()) == sorted(p.name for p in old_dir.iterdir())


def test_the_old_form_without_a_tokenizer_is_a_typed_error(lm: LoadedModel) -> None:
    from steering_core.errors import InvalidParameterError

    with pytest.warns(DeprecationWarning), pytest.raises(InvalidParameterError, match="tokenizer"):
        residual_norms(lm.model)
    with pytest.raises(InvalidParameterError, match="lm"):
        generate(prompts=PROMPTS)


def test_the_old_keywords_for_the_model_still_work(lm: LoadedModel) -> None:
    want = generate_tokens(lm, PROMPTS, 4)
    got = _old_form_warns(
        lambda: generate_tokens(model=lm.model, tokenizer=lm.tokenizer, prompts=PROMPTS, max_new_tokens=4),
        r"generate_tokens\(model=",
    )
    assert got == want
    vector = _old_form_warns(lambda: extract(loaded_or_model=lm, style="terse", layers=[LAYER]), r"loaded_or_model")
    assert vector.model_name == lm.name and torch.equal(
        vector[LAYER], extract(lm, style="terse", layers=[LAYER])[LAYER]
    )


def test_steer_takes_the_loaded_model_or_its_module(lm: LoadedModel, vector: SteeringVector) -> None:
    plain = generate_tokens(lm, PROMPTS, 6)
    with _new_form_silent(lambda: steer(lm, vector, ALPHA, layers=LAYER)) as handle:
        assert handle.installed and hook_snapshot(lm.model) != {}
        by_lm = generate_tokens(lm, PROMPTS, 6)
    assert hook_snapshot(lm.model) == {}
    with steer(lm.model, vector, ALPHA, layers=LAYER):
        by_module = generate_tokens(lm, PROMPTS, 6)
    assert by_lm == by_module != plain
    with steer_rows(lm, [None, None]) as rows:
        assert not rows.installed


def test_apply_is_a_deprecated_alias_of_steer(lm: LoadedModel, vector: SteeringVector) -> None:
    plain = generate_tokens(lm, PROMPTS, 6)
    with steer(lm, vector, ALPHA, layers=LAYER):
        want = generate_tokens(lm, PROMPTS, 6)
    with pytest.warns(DeprecationWarning, match=r"SteeringVector\.apply.*steer\(lm, vector"):
        context = vector.apply(lm.model, ALPHA, layers=LAYER)
    with context:
        got = generate_tokens(lm, PROMPTS, 6)
    assert got == want != plain
    assert generate_tokens(lm, PROMPTS, 6) == plain  # the alias steers only inside its block
    assert hook_snapshot(lm.model) == {}


def test_directions_and_read_at_are_the_names_old_ones_warn(lm: LoadedModel, vector: SteeringVector) -> None:
    assert vector.layer_indices == [LAYER] and list(vector.directions) == [LAYER]
    with pytest.warns(DeprecationWarning, match=r"SteeringVector\.layers"):
        assert vector.layers is vector.directions
    mean = extract(lm, style="terse", layers=[LAYER], read_at="mean")
    assert mean.recipe is not None and mean.recipe.read_at == "mean"
    with pytest.warns(DeprecationWarning, match=r"extract\(position=\.\.\.\)"):
        old = extract(lm, style="terse", layers=[LAYER], position="mean")
    assert torch.equal(old[LAYER], mean[LAYER])
    with pytest.warns(DeprecationWarning, match=r"Recipe\.position"):
        assert mean.recipe.position == "mean"
    with pytest.warns(DeprecationWarning, match=r"read_activations\(position"):
        acts = read_activations(lm, PROMPTS, [LAYER], position="mean")
    assert torch.equal(acts, read_activations(lm, PROMPTS, [LAYER], read_at="mean"))
    from steering_core.errors import InvalidParameterError

    with pytest.warns(DeprecationWarning), pytest.raises(InvalidParameterError, match="position"):
        extract(lm, style="terse", layers=[LAYER], read_at="mean", position="last")
    # Serialised forms keep their keys: recorded certificates and digests do not change.
    assert mean.recipe.to_dict()["position"] == "mean" and "read_at" not in mean.recipe.to_dict()
    assert vector.describe()["layers"] == [LAYER]


@pytest.mark.parametrize(
    "cls",
    [
        SteeringVector,
        Recipe,
        LoadedModel,
        GgufPart,
        EmbeddedModel,
        SteeringHandle,
        RowSteeringHandle,
        Term,
        CompiledTerm,
        CompiledPlan,
        LayerNorms,
        LayerDiagnosis,
        Judgement,
        SweepCell,
        Thresholds,
        SweepResult,
        EncodedBatch,
        ContrastPair,
        Style,
    ],
)
def test_library_dataclasses_are_keyword_only(cls: type) -> None:
    fields = [f for f in dataclasses.fields(cls) if f.init]
    assert fields and all(f.kw_only for f in fields), cls.__name__
    with pytest.raises(TypeError):
        cls(*[None] * len(fields))


def test_the_readme_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    import steering_core.tiny

    monkeypatch.setattr(steering_core.tiny, "LAYERS", 24)  # the example steers layer 12, as on the real model
    lm = LoadedModel(model=make_tiny_model("qwen2"), tokenizer=make_tokenizer(), name="tiny-qwen2-24")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    example = re.search(r"## Example\n\n```python\n(.*?)```", readme, re.S)
    assert example is not None, "README has no '## Example' python block"
    code = example.group(1)
    assert len([line for line in code.splitlines() if line.strip()]) <= 6
    import steering_core
    import steering_core.models

    for module in (steering_core, steering_core.models):  # the tiny model instead of a download
        monkeypatch.setattr(module, "load_model", lambda *a, **k: lm)
    printed: list[str] = []
    namespace: dict[str, Any] = {"print": printed.append}
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        exec(compile(code, "README.md", "exec"), namespace)
    assert len(printed) == 1 and isinstance(printed[0], str)
    assert hook_snapshot(lm.model) == {}
