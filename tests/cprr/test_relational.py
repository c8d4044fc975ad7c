"""Relational geometry: offset consistency, the shuffled-pair permutation test, the probe, pair sampling,
and the whole experiment on a tiny model over the fixture WordNet (no Debian data needed)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import torch

from steering_core.errors import InvalidParameterError
from steering_core.relational import geometry, wordnet
from steering_core.relational.experiment import ExperimentConfig, run_experiment
from steering_core.relational.pairs import sample_pairs
from tests.cprr.wordnet_fixture import N_PAIRS, expected_pairs


def _planted(n: int = 60, layers: int = 3, d: int = 32, strength: float = 2.0, seed: int = 0) -> tuple[Any, Any]:
    g = torch.Generator().manual_seed(seed)
    source = torch.randn(n, layers, d, generator=g)
    direction = torch.randn(d, generator=g)
    target = source + strength * direction + torch.randn(n, layers, d, generator=g)
    return source, target


def test_consistency_equals_the_mean_over_all_pairs() -> None:
    source, target = _planted(n=25)
    fast = geometry.consistency(source, target)
    offsets = target.to(torch.float64) - source.to(torch.float64)
    for layer in range(offsets.shape[1]):
        cosines = [
            float(torch.nn.functional.cosine_similarity(offsets[i, layer], offsets[j, layer], dim=0))
            for i, j in itertools.combinations(range(25), 2)
        ]
        assert float(fast[layer]) == pytest.approx(sum(cosines) / len(cosines), abs=1e-12)


def test_consistency_of_parallel_offsets_is_one_and_of_opposed_pairs_minus_one() -> None:
    source = torch.zeros(2, 1, 4)
    target = torch.tensor([[[1.0, 0, 0, 0]], [[3.0, 0, 0, 0]]])
    assert float(geometry.consistency(source, target)[0]) == pytest.approx(1.0)
    target[1, 0, 0] = -3.0
    assert float(geometry.consistency(source, target)[0]) == pytest.approx(-1.0)


def test_permutation_test_finds_a_planted_relation() -> None:
    source, target = _planted()
    result = geometry.permutation_test(source, target, 99, seed=1)
    assert all(p == pytest.approx(1 / 100) for p in result.p_value)
    assert all(e > 0.1 for e in result.excess)


def test_permutation_test_sees_no_relation_in_a_shared_set_offset() -> None:
    """Targets share a common shift (e.g. 'more abstract') but the pairing is random: real ~ shuffled."""
    g = torch.Generator().manual_seed(3)
    source = torch.randn(80, 2, 32, generator=g)
    target = torch.randn(80, 2, 32, generator=g) + 3.0 * torch.randn(32, generator=g)
    result = geometry.permutation_test(source, target, 199, seed=2)
    assert all(r > 0.3 for r in result.real)  # a high raw consistency ...
    assert all(p > 0.05 for p in result.p_value)  # ... that the shuffled pairs reproduce
    assert all(abs(e) < 0.05 for e in result.excess)


def test_permutation_test_is_deterministic_and_uses_derangements() -> None:
    source, target = _planted(n=10)
    a = geometry.permutation_test(source, target, 20, seed=5)
    b = geometry.permutation_test(source, target, 20, seed=5)
    assert a == b
    g = torch.Generator().manual_seed(0)
    for _ in range(50):
        perm = geometry._derangement(5, g)
        assert sorted(perm.tolist()) == list(range(5)) and all(perm[i] != i for i in range(5))


@pytest.mark.parametrize(
    ("source", "target", "match"),
    [
        (torch.zeros(3, 2, 4), torch.zeros(3, 2, 5), "same shape"),
        (torch.zeros(1, 2, 4), torch.zeros(1, 2, 4), "at least 2 pairs"),
        (torch.full((3, 2, 4), float("nan")), torch.zeros(3, 2, 4), "finite"),
        (torch.zeros(3, 4), torch.zeros(3, 4), "same shape"),
    ],
)
def test_bad_input_is_refused(source: Any, target: Any, match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        geometry.permutation_test(source, target, 5, seed=0)


def test_permutation_count_is_checked() -> None:
    source, target = _planted(n=5)
    with pytest.raises(InvalidParameterError, match="n_permutations"):
        geometry.permutation_test(source, target, 0, seed=0)


def test_mean_direction_cosines() -> None:
    a = torch.tensor([[[1.0, 0.0]], [[3.0, 0.0]]])
    b = torch.tensor([[[0.0, 2.0]]])
    c = torch.tensor([[[-1.0, 0.0]]])
    assert geometry.mean_direction_cosines(a, b) == [pytest.approx(0.0)]
    assert geometry.mean_direction_cosines(a, c) == [pytest.approx(-1.0)]


def test_probe_separates_planted_classes_and_not_noise() -> None:
    g = torch.Generator().manual_seed(0)
    centres = 1.5 * torch.randn(3, 64, generator=g)
    labels = [i for i in range(3) for _ in range(40)]
    separable = torch.stack([centres[y] + torch.randn(64, generator=g) for y in labels])
    assert geometry.probe_accuracy(separable, labels, k=5, seed=0) >= 0.95
    noise = torch.randn(120, 64, generator=g)
    assert geometry.probe_accuracy(noise, labels, k=5, seed=0) < 0.55  # chance is 1/3


def test_probe_is_held_out_and_deterministic() -> None:
    """With labels independent of the features a probe that saw its test rows would be near perfect."""
    g = torch.Generator().manual_seed(1)
    features = torch.randn(90, 200, generator=g)  # d > n: training accuracy would be 1.0
    labels = [i % 3 for i in range(90)]
    first = geometry.probe_accuracy(features, labels, k=3, seed=4)
    assert first < 0.6
    assert geometry.probe_accuracy(features, labels, k=3, seed=4) == first


def test_folds_are_stratified_and_cover_everything() -> None:
    labels = [0] * 10 + [1] * 7
    folds = geometry.stratified_folds(labels, 3, seed=0)
    assert sorted(i for f in folds for i in f) == list(range(17))
    for fold in folds:
        assert 3 <= sum(labels[i] == 0 for i in fold) <= 4
    with pytest.raises(InvalidParameterError, match="at least k=3"):
        geometry.stratified_folds([0, 0, 0, 1, 1], 3, seed=0)
    with pytest.raises(InvalidParameterError, match="labels"):
        geometry.probe_accuracy(torch.zeros(4, 2), [0, 0, 0, 0], k=2)


# --------------------------------------------------------------------------- sampling


def test_sampling_is_seeded_and_bounded() -> None:
    candidates = [(f"src{i:03d}", f"tgt{i % 7}") for i in range(200)]
    one = sample_pairs("hypernym", candidates, 14, 0, lambda w: True, max_per_target=2)
    assert one == sample_pairs("hypernym", candidates, 14, 0, lambda w: True, max_per_target=2)
    assert one != sample_pairs("hypernym", candidates, 14, 1, lambda w: True, max_per_target=2)
    assert len(one.pairs) == 14 and one.n_candidates == 200
    with pytest.raises(InvalidParameterError, match="at most 14 pairs"):  # 7 targets, each at most twice
        sample_pairs("hypernym", candidates, 15, 0, lambda w: True, max_per_target=2)
    targets = [t for _, t in one.pairs]
    assert max(targets.count(t) for t in set(targets)) <= 2
    assert len({s for s, _ in one.pairs}) == len(one.pairs)


def test_sampling_prefers_single_token_words_and_reports_them() -> None:
    candidates = [(f"a{i}", f"b{i}") for i in range(30)] + [(f"long{i}", f"b{i + 100}") for i in range(30)]
    single = {w for pair in candidates[:30] for w in pair}
    sample = sample_pairs("antonym", candidates, 40, 0, lambda w: w in single)
    assert sample.n_single_token == 30 and len(sample.pairs) == 40
    assert all(s.startswith("a") for s, _ in sample.pairs[:30])
    with pytest.raises(InvalidParameterError, match="at most 60 pairs"):
        sample_pairs("antonym", candidates, 61, 0, lambda w: True)
    with pytest.raises(InvalidParameterError, match="n: expected"):
        sample_pairs("antonym", candidates, 0, 0, lambda w: True)


# --------------------------------------------------------------------------- the experiment


def test_experiment_on_a_tiny_model(fixture_wordnet: Path) -> None:
    from tests.conftest import make_tiny_model, make_tokenizer

    model, tokenizer = make_tiny_model("qwen2"), make_tokenizer()
    config = ExperimentConfig(n_pairs=12, n_permutations=19, probe_folds=3, batch_size=8, seed=0)
    result = run_experiment(model, tokenizer, config, wn=wordnet.load(fixture_wordnet))
    assert result.num_layers == 4
    pairs = expected_pairs()
    for relation, sample in result.samples.items():
        assert len(sample.pairs) == 12 and set(sample.pairs) <= set(pairs[relation])
        assert len(result.consistency[relation]) == 4
        assert all(1 / 20 <= p <= 1.0 for p in result.p_value[relation])
    assert set(result.direction_cos) == {"hypernym|antonym", "hypernym|meronym", "antonym|meronym"}
    assert len(result.probe) == 4 and all(0.0 <= a <= 1.0 for a in result.probe)
    assert len(result.table()) == 4 and set(result.wordnet_sha256) == set(wordnet.REQUIRED_FILES)
    again = run_experiment(model, tokenizer, config, wn=wordnet.load(fixture_wordnet))
    assert again.table() == result.table()
    assert N_PAIRS >= 12


def test_word_activations_match_unpadded_single_reads() -> None:
    """Batching with left padding reads what each word would give alone (positions from its first token)."""
    from steering_core.relational.experiment import word_activations
    from tests.conftest import make_tiny_model, make_tokenizer

    model, tokenizer = make_tiny_model("qwen2"), make_tokenizer()
    words = ["cat", "elephant", "ox"]
    batched = word_activations(model, tokenizer, words, "The word is: {word}", batch_size=3)
    for word in words:
        alone = word_activations(model, tokenizer, [word], "The word is: {word}", batch_size=1)[word]
        torch.testing.assert_close(batched[word], alone, rtol=1e-4, atol=1e-4)
