"""The seed's conjectures C-1..C-14 under their own ids, with the seed's meaning (issue 20).

The registry first ported the seed's ids without the seed's text, so several ids came to mean
something else. :func:`port` repairs that without deleting anything:

1. every project claim that had taken a seed id continues, with its protocol, history and
   evidence copied verbatim, under a new id (:data:`RENAMES`, e.g. ``C-10 -> H-GEO-1``), through
   :func:`~steering_core.cprr.lifecycle.rename_entry` (a ``rename`` event; the copied records
   keep counting there);
2. the seed id gets the seed's meaning through an ``amend`` event
   (:func:`~steering_core.cprr.lifecycle.amend_protocol`, ``renamed_to`` naming the new id): the
   seed's hypothesis, restated precisely, with a protocol and decision rule written from the
   seed's wording *before* any run under it (where the wording is vague, the protocol's
   ``metric_definition`` says how it was made precise); the old protocol stays in the event and
   the old records in the file (they no longer conform, so they no longer count);
3. every seed id carries a ``seed`` block: the seed's title, hypothesis and status, its evidence
   in brief, and (filled in after our runs) what we find and why it differs.

C-14 keeps its protocol: it already tested the seed's claim (the seed's extra clause, topic
cosine > 0.6 at the parity alphas, is noted). Idempotent: entries already ported are skipped.
The seed's text is quoted from the public repository aygp-dr/qwen3-steering
(``.cprr/conjectures.json``, MIT licence); its numbers are its claims, not our measurements.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from steering_core.cprr import store
from steering_core.cprr.errors import EntryError
from steering_core.cprr.lifecycle import Entry, amend_protocol, rename_entry

SEED_MODEL = "Qwen/Qwen3-0.6B (28 layers, d_model 1024, fp16, greedy decoding)"
LAYER_MAPPING = (
    "Seed model Qwen/Qwen3-0.6B has 28 decoder layers (0-27); the embedded Qwen2.5-Coder-0.5B-Instruct "
    "has 24 (0-23). A seed layer l maps to round(l * 23 / 27) (the same fractional depth l / (L - 1)); a "
    "seed band [a, b] maps to [round(a * 23 / 27), round(b * 23 / 27)]: L0-7 -> L0-6, L8-11 -> L7-9, "
    "L12-16 and L12-17 -> L10-14, L18-22 -> L15-19, L23-27 -> L20-23. All layer numbers here are "
    "embedded-model indices (0-based, output of that decoder layer)."
)
SEED_ALPHA = {"ratio": 0.3, "layer": 12, "seed_alpha": 2.0}
SEED_ALPHA_TEXT = (
    "alpha* = the seed's raw alpha 2.0 made model-independent: the alpha at which the terse vector at L12 "
    "has perturbation ratio 0.3 (alpha* = 0.3 * median_12 / ||v_12||, median residual norm without the "
    "attention sink), used fixed at every layer as the seed used alpha 2.0 at every layer"
)
EXTRACTION = {"position": "last", "chat": True, "aggregator": "mean"}
PROMPT_SET = {
    "id": "neutral-questions-v1",
    "sha256": "4936733a924221f9fc5421c47dca54167a899094d664bd2d371bd2463504b64f",
}
TERSE_PROBE_PAIRS = [
    [
        "Be extremely concise and technical. No filler words.",
        "Please explain thoroughly with lots of context and examples.",
    ],
    ["Answer in as few words as possible, technically.", "Answer at length, with background and plenty of examples."],
    ["Keep it short and precise; skip any filler.", "Take your time and explain everything in detail, with context."],
    ["Reply tersely, like a reference manual.", "Reply like a patient teacher who elaborates on every point."],
]
RELATIONAL = {
    "relations": ["hypernym", "antonym", "meronym"],
    "n_pairs": 120,
    "max_per_target": 3,
    "template": "The word is: {word}",
    "n_permutations": 199,
    "probe_folds": 5,
    "probe_l2": 1.0,
    "batch_size": 64,
}
RELATIONAL_TEXT = (
    "WordNet 3.0 (Debian wordnet-base, read from its data files; `make wordnet`): hypernym pairs (nouns, "
    "pointer @: hyponym -> hypernym), antonym pairs (adjectives, lexical pointer !, oriented from the word "
    "with more SemCor-tagged senses), part-meronym pairs (nouns, %p: part -> whole); plain lowercase words "
    "whose first sense is the synset; 120 pairs per relation sampled with the protocol seed, single-token "
    "words first, each target at most 3 times. Each word is read in the seed's template 'The word is: {word}' "
    "(no chat template) at its last token, at every layer, in batched passes. Offset = act(target) - "
    "act(source). consistency_l = mean pairwise cosine of a relation's offsets at layer l (the seed's "
    "'direction stability'); shuffled_l = its mean over 199 derangements of the targets (pairing destroyed, "
    "word sets kept); p_l = (1 + #shuffled >= real) / 200. Direction cosine = cosine of two relations' mean "
    "offsets. Probe = held-out accuracy (5-fold, stratified) of a ridge classifier predicting the relation "
    "type from the offset (chance 1/3), and the same on shuffled-pair offsets."
)

# old id -> (new id, kind, group) for the project claims that had taken a seed id
RENAMES: dict[str, tuple[str, str]] = {
    "C-1": ("H-LR-1", "layer roles"),
    "C-2": ("H-LR-2", "layer roles"),
    "C-3": ("H-LR-3", "layer roles"),
    "C-4": ("H-LR-4", "layer roles"),
    "C-5": ("H-RN-1", "residual geometry"),
    "C-6": ("H-ML-1", "multi-layer"),
    "C-7": ("H-LR-5", "layer roles"),
    "C-8": ("H-ST-1", "steerability"),
    "C-9": ("H-IP-1", "injection vs prompt"),
    "C-10": ("H-GEO-1", "style axes"),
    "C-11": ("H-GEO-2", "style axes"),
    "C-12": ("H-GEO-3", "style axes"),
    "C-13": ("H-GEO-4", "style axes"),
}


def _rule(*parts: tuple[str, str, float]) -> dict[str, Any]:
    rules = [{"metric": m, "op": op, "threshold": t} for m, op, t in parts]
    return rules[0] if len(rules) == 1 else {"all": rules}


def _protocol(
    layers: list[int],
    n_prompts: int,
    metric: str,
    definition: str,
    rule: dict[str, Any],
    max_new_tokens: int,
    params: dict[str, Any],
    styles: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "model": "embedded",
        "dtype": "float32",
        "layer_mapping": LAYER_MAPPING,
        "layers": layers,
        "alphas": [],
        "styles": ["terse"] if styles is None else styles,
        "prompt_set": {**PROMPT_SET, "n_prompts": n_prompts},
        "metric": metric,
        "metric_definition": definition,
        "decision_rule": rule,
        "n_samples": n_prompts,
        "max_new_tokens": max_new_tokens,
        "seed": 0,
        "params": {"extraction": dict(EXTRACTION), **params},
    }


SCORECARD = (
    "Greedy answers (chat template, at most max_new_tokens = 64 new tokens, set by the compute budget of a "
    "shared 2-core machine; the seed's answers ran to ~150 words, so long baselines are truncated here) to "
    "the first n_prompts neutral questions (the seed used 5), unsteered and steered with the terse vector "
    "at each listed layer at "
    + SEED_ALPHA_TEXT
    + ". topic cosine = cosine of the word-count vectors of steered and baseline answer (the seed's 'TF-IDF "
    "cosine', which weights by term frequency only), mean over prompts; words = mean word count; word change "
    "= |1 - words_steered / words_baseline|; markdown density = (** + ## + code fences + line-initial '- ') "
    "per 100 words; CE ratio = mean over prompts of the mean token cross-entropy of the steered answer over "
    "that of the baseline answer under the unsteered model, text alone (the seed's 'perplexity ratio'). "
    "Band values are means over the band's layers."
)


def seed_entries() -> dict[str, dict[str, Any]]:
    """Per seed id: the new title, group, statement, protocol and seed block (``we_find`` filled later)."""
    sa = {"seed_alpha": dict(SEED_ALPHA)}
    return {
        "C-1": {
            "group": "layer roles",
            "title": "Layers 0-7 produce topic drift, not style shift",
            "statement": "Steering with the terse vector at the seed's early layers (L0, L3, L5 -> L0, L3, L4) at the "
            "seed-equivalent alpha disrupts the answer's topic: its mean topic cosine with the unsteered answer is "
            "below 0.5.",
            "protocol": _protocol(
                [0, 3, 4],
                5,
                "topic_cosine_band",
                SCORECARD + " Rule: the seed's threshold on the mean topic "
                "cosine over L0, L3, L4 (the seed's layers 0, 3, 5 mapped); its clause 'without producing the "
                "intended style change' is reported (effect_band) but, as in the seed, not judged.",
                _rule(("topic_cosine_band", "<", 0.5)),
                64,
                sa,
            ),
            "seed": {
                "title": "Layers 0-7 produce topic drift not style shift",
                "hypothesis": "Steering at layers 0-7 disrupts semantics (topic drift, language-switching) without "
                "producing intended style change. TF-IDF cosine similarity with baseline < 0.5",
                "status": "confirmed",
                "evidence": "Layers [0, 3, 5]: avg topic_cosine=0.259, avg words=56 at alpha=2.0.",
            },
        },
        "C-2": {
            "group": "layer roles",
            "title": "Layers 12-17 are the semantic sweet spot for style steering",
            "statement": "Terse steering at the seed's sweet spot (L12-17 -> L10-14) at the seed-equivalent alpha "
            "reduces word count by more than 50% with topic cosine above 0.5, and outperforms every other layer "
            "range (early, output preparation, logit projection).",
            "protocol": _protocol(
                [3, 10, 12, 14, 17, 21],
                5,
                "sweet_margin",
                SCORECARD + " Bands: sweet = L10, L12, L14 (seed L12, "
                "L14, L16 mapped); the other ranges one layer each at their centre: early L3, output preparation "
                "L17, logit projection L21. 'Outperforming' made precise: a band's score is its mean effect (1 - "
                "words_steered / words_baseline) when its mean topic cosine exceeds 0.5, else 0; sweet_margin = "
                "score(sweet) - max(score(other bands)) must be > 0.",
                _rule(("effect_sweet", ">", 0.5), ("topic_sweet", ">", 0.5), ("sweet_margin", ">", 0.0)),
                64,
                {
                    **sa,
                    "bands": {"early": [3], "sweet": [10, 12, 14], "formatting": [17], "distortion": [21]},
                    "topic_min": 0.5,
                },
            ),
            "seed": {
                "title": "Layers 12-17 are the semantic sweet spot for style steering",
                "hypothesis": "Terse steering at layers 12-17 produces >50% word count reduction with topic cosine "
                ">0.5, outperforming all other layer ranges",
                "status": "confirmed",
                "evidence": "Layers [12, 14, 15, 16]: avg words=42 (72% reduction), avg topic_cosine=0.605 "
                "at alpha=2.0.",
            },
        },
        "C-3": {
            "group": "layer roles",
            "title": "Layers 18-22 affect formatting more than style",
            "statement": "Terse steering at the seed's output-preparation layers (L18, L20, L22 -> L15, L17, L19) at "
            "the seed-equivalent alpha changes the word count by less than 20% but more than doubles the markdown "
            "density of the answers.",
            "protocol": _protocol(
                [15, 17, 19],
                5,
                "markdown_ratio_band",
                SCORECARD + " markdown_ratio_band = (mean steered density + "
                "1) / (mean baseline density + 1) (add-one smoothing so a baseline without markdown gives a finite "
                "ratio); word_change_band = |1 - mean steered words / baseline words| over the band.",
                _rule(("word_change_band", "<", 0.2), ("markdown_ratio_band", ">", 2.0)),
                64,
                sa,
            ),
            "seed": {
                "title": "Layers 18-22 affect formatting more than style",
                "hypothesis": "Steering at layers 18-22 produces <20% word count change but >2x markdown density "
                "increase vs baseline",
                "status": "confirmed",
                "evidence": "Layers [18, 20, 22]: avg words=165 (change=11%), avg markdown_density=14.37 at alpha=2.0 "
                "(no baseline density reported).",
            },
        },
        "C-4": {
            "group": "layer roles",
            "title": "Layers 23-27 cause vocabulary distortion, not style modulation",
            "statement": "Terse steering at the seed's last layers (L24, L27 -> L20, L23) at the seed-equivalent "
            "alpha raises the cross-entropy of the answer under the unsteered model by more than half (ratio > 1.5) "
            "while changing the word count by less than 15%.",
            "protocol": _protocol(
                [20, 23],
                5,
                "ce_ratio_band",
                SCORECARD,
                _rule(("ce_ratio_band", ">", 1.5), ("word_change_band", "<", 0.15)),
                64,
                sa,
            ),
            "seed": {
                "title": "Layers 23-27 cause vocabulary distortion not style modulation",
                "hypothesis": "Steering at layers 23-27 produces perplexity ratio >1.5 (vocabulary distortion) with "
                "minimal word count change (<15%)",
                "status": "confirmed",
                "evidence": "Layers [24, 27]: avg perplexity_ratio=1.290, avg words=171 at alpha=2.0 -- below its own "
                "1.5 threshold, yet marked confirmed.",
            },
        },
        "C-5": {
            "group": "residual geometry",
            "title": "Residual stream norm grows monotonically through layers",
            "statement": "The residual L2 norm (mean over every position, attention sink included, as the seed "
            "measured it) never decreases from one layer to the next over all 24 layers, and grows by more than "
            "40% from the first layer to the last.",
            "protocol": _protocol(
                list(range(24)),
                12,
                "n_decreases",
                "mean_norm_l = mean over the first n_prompts neutral questions "
                "(chat template) of the mean L2 norm of layer l's output over every real position, first token "
                "included (the seed: hs.norm(dim=-1).mean()); n_decreases = number of l with mean_norm_{l+1} < "
                "mean_norm_l over l = 0..22; growth = mean_norm_23 / mean_norm_0 - 1. The median over non-first "
                "positions (the project's norm) is recorded beside it.",
                _rule(("n_decreases", "==", 0), ("growth", ">", 0.4)),
                0,
                {},
            ),
            "seed": {
                "title": "Residual stream norm grows monotonically through layers",
                "hypothesis": "Residual L2 norm at layer L+1 >= norm at layer L for all L in [0,27], with >40% growth "
                "from L0 to L27",
                "status": "refuted",
                "evidence": "L0=10, L12=480, L24=809, L27=620: the norm drops over the final layers; not monotonic.",
            },
        },
        "C-6": {
            "group": "multi-layer",
            "title": "Multi-layer distributed steering outperforms single-layer",
            "statement": "Steering at two layers with half the alpha each (seed L12+L16 -> L10+L14, alpha*/2) gives a "
            "better terseness-to-coherence score than one layer at the full alpha (seed L12 -> L10, alpha*).",
            "protocol": _protocol(
                [10, 14],
                8,
                "score_ratio",
                "Greedy answers (chat template, at most 64 new tokens) to the first 8 "
                "neutral questions (the seed used 8), unsteered, steered at L10 with alpha* and at L10+L14 "
                "with alpha*/2 "
                "each (" + SEED_ALPHA_TEXT + "). The seed's composite score = (1 / words) x topic x (1 / CE ratio) "
                "x 1000, words = mean word count (at least 1), topic = mean topic cosine with the baseline answer, "
                "CE ratio = mean steered/baseline answer cross-entropy under the unsteered model. score_ratio = "
                "score(multi) / score(single).",
                _rule(("score_ratio", ">", 1.0)),
                64,
                {**sa, "single": 10, "multi": [10, 14], "multi_alpha_factor": 0.5},
            ),
            "seed": {
                "title": "Multi-layer distributed steering outperforms single-layer",
                "hypothesis": "Two layers at alpha=1.0 each (L12+L16) produce better terseness-to-coherence ratio "
                "than single layer at alpha=2.0 (L12)",
                "status": "refuted",
                "evidence": "Single L12 alpha 2.0: 13.9 words, topic 0.499, score 10.91; L12+L16: 50.0 words, topic "
                "0.615, score 6.07. Single-layer wins.",
            },
        },
        "C-7": {
            "group": "layer roles",
            "title": "Verbosity direction peaks in the deep-semantics region (L12-17)",
            "statement": "The norm of the verbosity delta (verbose minus terse activation) peaks at the seed's "
            "L12-17 (-> L10-14), and the peak is more than twice the mean norm over L0-7 (-> L0-6) and over "
            "L23-27 (-> L20-23).",
            "protocol": _protocol(
                list(range(24)),
                1,
                "peak_in_sweet",
                "||v_l|| of the raw terse vector (positive minus negative "
                "instruction, last token of the chat-templated prompt; the verbosity delta is its negative, same "
                "norm) at every layer; peak_in_sweet = 1 when the largest norm is at L10-L14; peak_to_early and "
                "peak_to_late = the peak norm over the mean norm of L0-L6 and of L20-L23.",
                _rule(("peak_in_sweet", "==", 1), ("peak_to_early", ">", 2.0), ("peak_to_late", ">", 2.0)),
                0,
                {"sweet": [10, 14], "early": [0, 1, 2, 3, 4, 5, 6], "late": [20, 21, 22, 23]},
            ),
            "seed": {
                "title": "Verbosity direction peaks in deep_semantics region (L12-17)",
                "hypothesis": "The norm of the verbosity delta (verbose_activation - terse_activation) peaks at layers "
                "12-17, confirming deep_semantics as the primary region encoding style register. Peak layer has "
                "mean ||delta|| > 2x the mean of layers 0-7 and 23-27.",
                "status": "refuted",
                "evidence": "Peak at L27 (||delta||=211.4); early mean 1.03, L12-17 mean 32.5, L23-27 mean 163.3.",
            },
        },
        "C-8": {
            "group": "steerability",
            "title": "Verbosity direction steers cleanly only at high-stability layers (12-17)",
            "statement": "Clean terse steering at the seed-equivalent alpha happens only at layers where the direction "
            "is stable across contrast pairs (cross-pair cosine > 0.95), all of them in the seed's L12-17 "
            "(-> L10-14), and steering at the seed's peak-norm layers L23-27 (-> L20-23) collapses.",
            "protocol": _protocol(
                [3, 10, 12, 14, 17, 20, 23],
                5,
                "clean_unstable",
                SCORECARD + " stability_l = mean pairwise "
                "cosine of the per-pair terse deltas of the 4 probe pairs (the seed pair and 3 paraphrases) at l. "
                "A layer steers cleanly when effect >= 0.3, no answer is degenerate and topic cosine > 0.5 (the "
                "seed's 'clean style steering' made precise). Rule: at least one clean layer; no clean layer with "
                "stability <= 0.95; none outside L10-14; at L20 and L23 at least half the answers degenerate "
                "('causes collapse'). The seed's second condition, SNR within 3-6%, is not judged: its SNR "
                "divides by residual norms that include the attention sink of Qwen3 and has no counterpart "
                "scale here (the ratio to the median norm is recorded as snr_median).",
                _rule(
                    ("n_clean", ">=", 1),
                    ("clean_unstable", "==", 0),
                    ("clean_outside_sweet", "==", 0),
                    ("late_degenerate_fraction", ">=", 0.5),
                ),
                64,
                {
                    **sa,
                    "probe_pairs": TERSE_PROBE_PAIRS,
                    "stable": 0.95,
                    "sweet": [10, 14],
                    "late": [20, 23],
                    "clean_effect": 0.3,
                    "topic_min": 0.5,
                },
            ),
            "seed": {
                "title": "Verbosity direction is steerably useful only at high-stability layers (12-17)",
                "hypothesis": "Although ||delta|| norm grows monotonically through layers, only layers where direction "
                "stability (cross-pair cosine) > 0.95 AND norm is in 3-6% SNR range produce clean style steering. "
                "This is layers 12-17. Injection at peak-norm layers (23-27) causes collapse.",
                "status": "confirmed",
                "evidence": "Stability peaks at L12 (0.962), 0.725 at L27; L12 terse 11 words (-92%), L14 22, L15 25 "
                "from 142; injection at L27 gives 3 words of garbage.",
            },
        },
        "C-9": {
            "group": "injection vs prompt",
            "title": "Injection at L12 matches prompt-level terse/verbose control",
            "statement": "Injecting +alpha* / -alpha* of the terse vector at the seed's L12 (-> L10) gives word counts "
            "within 20% of those of the terse / verbose instruction written into the prompt, terse answers under 30 "
            "words and verbose answers over 100 words for every question, and topic cosine above 0.6 with the "
            "prompted answers for both poles.",
            "protocol": _protocol(
                [10],
                6,
                "terse_ratio_dev",
                "Greedy answers (chat template, at most 144 new tokens so that a verbose "
                "answer can exceed 100 words) to the first 6 neutral questions (the seed used 10 'bimodal' ones): "
                "prompted = params.prompt_template with the terse style's positive (terse) or negative (verbose) "
                "instruction, unsteered; injected = the plain question steered at L10 with +alpha* (terse) or "
                "-alpha* (verbose), " + SEED_ALPHA_TEXT + ". ratio_dev = |mean injected words / mean prompted words "
                "- 1| per pole; topic = mean topic cosine of injected vs prompted answer per pole; per-answer "
                "word counts are whitespace-split, as the seed counted.",
                _rule(
                    ("terse_ratio_dev", "<=", 0.2),
                    ("verbose_ratio_dev", "<=", 0.2),
                    ("terse_injected_max_words", "<", 30),
                    ("verbose_injected_min_words", ">", 100),
                    ("terse_topic", ">", 0.6),
                    ("verbose_topic", ">", 0.6),
                ),
                144,
                {**sa, "layer": 10, "prompt_template": "{instruction}\n\n{question}"},
            ),
            "seed": {
                "title": "Injection at L12 matches prompt-level terse/verbose control on bimodal questions",
                "hypothesis": "ActAdd injection at layer 12 with alpha=2.0 produces word count within 20% of "
                "prompt-level 'tersely/verbosely' instruction across 10 bimodal questions. Terse <30w for all, "
                "verbose >100w for all, topic cosine >0.6 for both.",
                "status": "refuted",
                "evidence": "Injected terse 11.7 words vs prompted 20 (ratio 0.6), verbose 213.7 vs 70 (3.04); topic "
                "0.465/0.463: injection overshoots prompt control in both directions.",
            },
        },
        "C-10": {
            "group": "relational geometry",
            "title": "Hypernym direction is stable (cos > 0.5) at L12-16",
            "statement": "The hypernym offsets (act(hypernym) - act(hyponym), e.g. animal - dog) have cross-pair "
            "cosine stability above 0.5 at every layer of the seed's L12-16 (-> L10-14), and above what shuffled "
            "pairs give (permutation p <= 0.01).",
            "protocol": _protocol(
                [10, 11, 12, 13, 14],
                1,
                "hypernym_consistency_band_min",
                RELATIONAL_TEXT + " 'At layers 12-16' "
                "read as every layer of the mapped band; 'stable' = the seed's threshold on the mean pairwise "
                "cosine, plus the permutation test so that a shared component of the word sets cannot pass for a "
                "relation.",
                _rule(("hypernym_consistency_band_min", ">", 0.5), ("hypernym_p_band_max", "<=", 0.01)),
                0,
                {"relational": dict(RELATIONAL)},
                styles=[],
            ),
            "seed": {
                "title": "Hypernym direction is stable (cos>0.5) at L12-16",
                "hypothesis": "The hypernym direction (dog->animal) has cross-pair cosine stability >0.5 at layers "
                "12-16, confirming relational encoding in deep_semantics.",
                "status": "refuted",
                "evidence": "15 curated pairs per relation: peak hypernym stability 0.118 (L12), antonym 0.068, "
                "meronym 0.066; all far below 0.5 at every layer.",
            },
        },
        "C-11": {
            "group": "relational geometry",
            "title": "Hypernym and antonym are orthogonal (cos < 0.3) at L12-16",
            "statement": "At every layer of the seed's L12-16 (-> L10-14) the mean hypernym and antonym offsets have "
            "|cosine| below 0.3 while both are stable directions (consistency > 0.5, permutation p <= 0.01): "
            "structured relational geometry rather than orthogonal noise.",
            "protocol": _protocol(
                [10, 11, 12, 13, 14],
                1,
                "abs_cos_hypernym_antonym_band_max",
                RELATIONAL_TEXT + " Made precise "
                "from the seed's own refutation ('orthogonality is vacuously satisfied because directions are "
                "noise'): orthogonality counts only between stable directions, stable meaning C-10's criterion "
                "(consistency > 0.5 and p <= 0.01) for both relations at every band layer.",
                _rule(
                    ("abs_cos_hypernym_antonym_band_max", "<", 0.3),
                    ("hypernym_consistency_band_min", ">", 0.5),
                    ("antonym_consistency_band_min", ">", 0.5),
                    ("hypernym_p_band_max", "<=", 0.01),
                    ("antonym_p_band_max", "<=", 0.01),
                ),
                0,
                {"relational": dict(RELATIONAL)},
                styles=[],
            ),
            "seed": {
                "title": "Hypernym and antonym are orthogonal (cos<0.3) at L14",
                "hypothesis": "Mean direction vectors for hypernym and antonym have cosine similarity <0.3 at L12-16, "
                "indicating structured relational geometry rather than pattern-matching.",
                "status": "refuted",
                "evidence": "cos ~0.002 at L14, but 'orthogonality is vacuously satisfied because directions are "
                "noise, not structure' (all stabilities < 0.13).",
            },
        },
        "C-12": {
            "group": "relational geometry",
            "title": "Meronym is a third direction, independent of hypernym and antonym",
            "statement": "At every layer of the seed's L12-16 (-> L10-14) the mean meronym offset has |cosine| below "
            "0.3 with both the hypernym and the antonym offsets, the meronym direction is stable (consistency > "
            "0.5, p <= 0.01), and the three relations span a relational subspace: a linear probe tells the "
            "relation type from held-out offsets with accuracy >= 0.8.",
            "protocol": _protocol(
                [10, 11, 12, 13, 14],
                1,
                "abs_cos_meronym_others_band_max",
                RELATIONAL_TEXT + " '3D relational "
                "subspace' made precise as held-out probe accuracy >= 0.8 (chance 1/3) at every band layer; the "
                "shuffled-pair probe is recorded as the control for what the word sets alone give away.",
                _rule(
                    ("abs_cos_meronym_others_band_max", "<", 0.3),
                    ("meronym_consistency_band_min", ">", 0.5),
                    ("meronym_p_band_max", "<=", 0.01),
                    ("probe_band_min", ">=", 0.8),
                ),
                0,
                {"relational": dict(RELATIONAL)},
                styles=[],
            ),
            "seed": {
                "title": "Meronym is a third independent direction from hypernym and antonym",
                "hypothesis": "Meronym direction (wheel->car) has cos<0.3 with both hypernym and antonym at L12-16, "
                "forming a 3D relational subspace.",
                "status": "refuted",
                "evidence": "Inter-relation cosines near zero at L12-17 (hyp-ant -0.005, hyp-mer -0.022, ant-mer "
                "-0.009) but stability too low (< 0.12) for directions to be meaningful.",
            },
        },
        "C-13": {
            "group": "relational geometry",
            "title": "No relational structure at L0-7 (stability < 0.3)",
            "statement": "Direction stability (offset consistency) of all three relations is below 0.3 at every layer "
            "of the seed's L0-7 (-> L0-6).",
            "protocol": _protocol(
                [0, 1, 2, 3, 4, 5, 6],
                1,
                "consistency_early_max",
                RELATIONAL_TEXT + " The seed's own operational "
                "rule (stability < 0.3) is judged; whether the early layers carry *any* relational signal beyond "
                "shuffled pairs (p_early_min, excess_early_max) and the probe there are recorded, not judged.",
                _rule(("consistency_early_max", "<", 0.3)),
                0,
                {"relational": dict(RELATIONAL)},
                styles=[],
            ),
            "seed": {
                "title": "No relational structure at L0-7 (stability < 0.3)",
                "hypothesis": "Direction stability for all three relations is below 0.3 at layers 0-7, confirming "
                "these layers encode token identity not semantic relationships.",
                "status": "confirmed",
                "evidence": "Max at L0-7: hypernym 0.106, antonym 0.057, meronym 0.065 -- 'trivially true' since "
                "stability is below 0.3 at all layers.",
            },
        },
        "C-14": {
            "seed": {
                "title": "Alpha parity point is asymmetric: terse and verbose need different alphas",
                "hypothesis": "Terse parity alpha=2.0, verbose parity alpha=0.25. Asymmetric=True. Topic cosine >0.6 "
                "at parity alphas.",
                "status": "open",
                "evidence": "Sweep 0.1-3.0: terse parity at alpha 2.0 (10.4 words vs target 22), verbose parity at "
                "0.25 (179.2 vs target 76); topic at parity 0.452 / 0.862 (no evidence recorded under C-14 itself).",
            },
        },
    }


PENDING = "pending: no run under the seed's protocol yet"


def _with_seed_block(entry: Entry, seed: dict[str, Any]) -> Entry:
    out = copy.deepcopy(entry)
    block = {**seed, "we_find": PENDING, "why_they_differ": PENDING}
    if isinstance(entry.get("seed"), dict):
        block.update({k: entry["seed"][k] for k in ("we_find", "why_they_differ") if k in entry["seed"]})
    out["seed"] = block
    return out


def port(directory: Path | str | None = None, now: str | None = None) -> list[str]:
    """Rename the project claims off the seed ids and give every seed id the seed's meaning; returns what changed."""
    done: list[str] = []
    specs = seed_entries()
    for seed_id, spec in specs.items():
        entry = store.load_entry(seed_id, directory)
        if seed_id in RENAMES:
            new_id, group = RENAMES[seed_id]
            if not store.entry_path(new_id, directory).exists():
                origin = dict(entry["origin"])
                origin["source"] = "project"
                origin["notes"] = (
                    f"Registered as {seed_id} when the seed's text was not available; this claim is the project's "
                    f"restatement, not the seed's {seed_id}. Renamed {new_id} (history and evidence copied verbatim) "
                    f"when {seed_id} took the seed's meaning (issue 20). " + origin.get("notes", "")
                ).strip()
                origin.pop("seed_id", None)
                origin.pop("seed_model", None)
                renamed = rename_entry(
                    entry,
                    new_id,
                    f"continues {seed_id}, whose id now carries the seed's meaning",
                    now,
                    kind="hypothesis",
                    group=group,
                    origin=origin,
                )
                store.write_entry(renamed, directory)
                done.append(f"{seed_id} -> {new_id}")
            if entry["protocol"] != spec["protocol"]:
                amended = amend_protocol(
                    entry,
                    spec["protocol"],
                    f"{seed_id} takes the seed's meaning (pre-registered from the seed's wording before any run); "
                    f"the previous claim continues as {new_id}",
                    now,
                    statement=spec["statement"],
                    title=spec["title"],
                    group=spec["group"],
                    renamed_to=new_id,
                )
                amended["origin"] = {
                    "source": "seed",
                    "seed_id": seed_id,
                    "seed_model": SEED_MODEL,
                    "adaptation": "The seed's hypothesis (aygp-dr/qwen3-steering .cprr/conjectures.json, quoted in "
                    "'seed') restated for the embedded model: layers mapped by relative depth (round(l * 23 / 27)), "
                    "the seed's alpha 2.0 as alpha* where alphas appear, and every vague word made precise in the "
                    "protocol's metric_definition.",
                    "notes": (
                        "Cautionary example: the seed marked this 'confirmed' with a perplexity ratio of 1.290, below "
                        "its own 1.5 threshold; here the verdict is computed from the measured values. The earlier "
                        "port read 1.290 as a collapse ratio (now H-LR-4)."
                        if seed_id == "C-4"
                        else f"Until issue 20 this id carried the project's claim now registered as {new_id}."
                    ),
                }
                entry = amended
                done.append(f"{seed_id}: seed meaning")
        entry = _with_seed_block(entry, spec["seed"])
        store.write_entry(entry, directory)
    return done


def record_comparison(entry_id: str, we_find: str, why_they_differ: str, directory: Path | str | None = None) -> None:
    """Write what we find and why it differs from the seed into ``entry_id``'s ``seed`` block (commentary only).

    Raises:
        EntryError: the entry has no ``seed`` block (it is not one of the seed's ids).
    """
    entry = store.load_entry(entry_id, directory)
    if not isinstance(entry.get("seed"), dict):
        raise EntryError(entry_id, ["not a seed entry (no 'seed' block)"])
    updated = copy.deepcopy(entry)
    updated["seed"]["we_find"] = we_find
    updated["seed"]["why_they_differ"] = why_they_differ
    store.write_entry(updated, directory)
