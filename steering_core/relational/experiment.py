"""The WordNet relational-geometry experiment on a model, at every layer.

Protocol (every number comes from the caller, normally a CPRR protocol's ``params``):

1. WordNet 3.0 (:mod:`~steering_core.relational.wordnet`) gives the candidate pairs of each
   relation; :func:`~steering_core.relational.pairs.sample_pairs` keeps ``n_pairs`` per relation
   (seeded; single-token words in this model's tokenizer first; each target at most
   ``max_per_target`` times).
2. Every distinct word is written into one fixed template (the seed's ``"The word is: {word}"``,
   no chat template) and read at its last token at the output of every decoder layer, in batched
   forward passes of the decoder stack that each capture all layers at once.
3. Per relation and layer: offset consistency and the shuffled-pair permutation test; per pair of
   relations and layer: cosine of the mean offsets; per layer: held-out probe accuracy of the
   relation type from the offsets, and the same probe on shuffled-pair offsets (a control for
   what the word sets alone give away, e.g. part of speech).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import torch

from steering_core.layers import base_model, model_device, num_layers
from steering_core.prompts import encode
from steering_core.relational import geometry, wordnet
from steering_core.relational.pairs import Sample, sample_pairs, single_token_checker

DEFAULT_TEMPLATE = "The word is: {word}"


@dataclass(frozen=True)
class ExperimentConfig:
    """What the experiment varies (see the module docstring)."""

    relations: tuple[str, ...] = wordnet.RELATIONS
    n_pairs: int = 120
    max_per_target: int = 3
    template: str = DEFAULT_TEMPLATE
    n_permutations: int = 199
    probe_folds: int = 5
    probe_l2: float = 1.0
    batch_size: int = 64
    seed: int = 0

    @classmethod
    def from_params(cls, params: dict[str, Any], seed: int) -> ExperimentConfig:
        """The config of a CPRR protocol's ``params["relational"]`` (missing keys take the defaults)."""
        given = dict(params.get("relational", {}))
        if "relations" in given:
            given["relations"] = tuple(given["relations"])
        return cls(**given, seed=seed)


@dataclass
class ExperimentResult:
    """Per-layer measures (lists indexed by layer) and the samples they came from."""

    num_layers: int
    samples: dict[str, Sample]
    consistency: dict[str, list[float]] = field(default_factory=dict)
    shuffled: dict[str, list[float]] = field(default_factory=dict)
    shuffled_sd: dict[str, list[float]] = field(default_factory=dict)
    p_value: dict[str, list[float]] = field(default_factory=dict)
    direction_cos: dict[str, list[float]] = field(default_factory=dict)  # "a|b" -> per layer
    probe: list[float] = field(default_factory=list)
    probe_shuffled: list[float] = field(default_factory=list)
    wordnet_sha256: dict[str, str] = field(default_factory=dict)

    def excess(self, relation: str) -> list[float]:
        """Real minus shuffled consistency per layer."""
        return [r - s for r, s in zip(self.consistency[relation], self.shuffled[relation], strict=True)]

    def table(self) -> list[dict[str, float]]:
        """One row per layer with every measure (for printing and the registry's measured values)."""
        rows = []
        for layer in range(self.num_layers):
            row: dict[str, float] = {"layer": float(layer)}
            for relation in self.consistency:
                row[f"{relation}_consistency"] = self.consistency[relation][layer]
                row[f"{relation}_shuffled"] = self.shuffled[relation][layer]
                row[f"{relation}_p"] = self.p_value[relation][layer]
            for key, values in self.direction_cos.items():
                row[f"cos_{key.replace('|', '_')}"] = values[layer]
            row["probe"] = self.probe[layer]
            row["probe_shuffled"] = self.probe_shuffled[layer]
            rows.append(row)
        return rows


def sample_relations(tokenizer: Any, config: ExperimentConfig, wn: wordnet.WordNet | None = None) -> dict[str, Sample]:
    """The pairs of every relation of ``config`` for ``tokenizer`` (reads WordNet unless given)."""
    data = wn if wn is not None else wordnet.load()
    check = single_token_checker(tokenizer)
    return {
        relation: sample_pairs(
            relation,
            wordnet.relation_pairs(data, relation),
            config.n_pairs,
            config.seed,
            check,
            config.max_per_target,
        )
        for relation in config.relations
    }


@torch.no_grad()
def word_activations(
    model: Any, tokenizer: Any, words: Sequence[str], template: str, batch_size: int
) -> dict[str, torch.Tensor]:
    """``word -> (n_layers, hidden)`` float32: the last token of ``template.format(word=w)`` at every layer.

    Batched (left padding, positions counted from each text's first token, so a padded text
    sees what it would see alone); each forward pass captures every decoder layer at once
    (:func:`steering_core.extract.capture_layers`). Only the model's base (the decoder stack) is
    run: the language-model head is not needed and would cost a quarter of the time.
    """
    # deferred: imports deal, icontract only when this runs, not at module import
    from steering_core.extract import capture_layers

    layers = list(range(num_layers(model)))
    body = base_model(model)
    out: dict[str, torch.Tensor] = {}
    for start in range(0, len(words), batch_size):
        chunk = list(words[start : start + batch_size])
        batch = encode(tokenizer, [template.format(word=w) for w in chunk], chat=False, device=model_device(model))
        with capture_layers(model, layers) as captured:
            body(
                input_ids=batch.input_ids,
                attention_mask=batch.attention_mask,
                position_ids=batch.position_ids,
                use_cache=False,
            )
        stacked = torch.stack([captured[layer][:, -1, :] for layer in layers], dim=1).to(torch.float32)
        for i, word in enumerate(chunk):
            out[word] = stacked[i]
    return out


def _shuffled_offsets(source: torch.Tensor, target: torch.Tensor, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return target[geometry._derangement(source.shape[0], generator)] - source


def run_experiment(
    model: Any,
    tokenizer: Any,
    config: ExperimentConfig,
    log: Callable[[str], None] = lambda _m: None,
    wn: wordnet.WordNet | None = None,
) -> ExperimentResult:
    """Run the experiment (see the module docstring) and return its per-layer measures.

    Raises:
        WordNetMissingError: WordNet is not installed (``make wordnet``).
    """
    data = wn if wn is not None else wordnet.load()
    samples = sample_relations(tokenizer, config, data)
    words = sorted({w for s in samples.values() for pair in s.pairs for w in pair})
    log(f"reading {len(words)} words at every layer ({', '.join(f'{r}: {len(s.pairs)}' for r, s in samples.items())})")
    acts = word_activations(model, tokenizer, words, config.template, config.batch_size)
    num_layers = next(iter(acts.values())).shape[0]
    result = ExperimentResult(num_layers, samples)
    offsets: dict[str, torch.Tensor] = {}
    shuffled: dict[str, torch.Tensor] = {}
    for index, (relation, sample) in enumerate(samples.items()):
        source = torch.stack([acts[a] for a, _ in sample.pairs])
        target = torch.stack([acts[b] for _, b in sample.pairs])
        test = geometry.permutation_test(source, target, config.n_permutations, config.seed + index)
        result.consistency[relation] = test.real
        result.shuffled[relation] = test.shuffled_mean
        result.shuffled_sd[relation] = test.shuffled_sd
        result.p_value[relation] = test.p_value
        offsets[relation] = (target - source).to(torch.float64)
        shuffled[relation] = _shuffled_offsets(source, target, config.seed + 1000 + index).to(torch.float64)
    for a, b in combinations(samples, 2):
        result.direction_cos[f"{a}|{b}"] = geometry.mean_direction_cosines(offsets[a], offsets[b])
    labels = [i for i, relation in enumerate(samples) for _ in samples[relation].pairs]
    log(f"permutation tests done; probing relation type at {num_layers} layers ({config.probe_folds}-fold)")
    for layer in range(num_layers):
        real = torch.cat([offsets[r][:, layer] for r in samples])
        control = torch.cat([shuffled[r][:, layer] for r in samples])
        for features, out in ((real, result.probe), (control, result.probe_shuffled)):
            out.append(geometry.probe_accuracy(features, labels, config.probe_folds, config.seed, config.probe_l2))
    result.wordnet_sha256 = wordnet.files_sha256(data.directory)
    return result
