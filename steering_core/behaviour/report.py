"""Markdown rendering of a behaviour report (the dict of ``BehaviourResult.to_dict()``)."""

from __future__ import annotations

from typing import Any


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def _verdict(passed: bool) -> str:
    return "PASS" if passed else "fail"


def _pct(value: Any) -> str:
    return "-" if value is None else f"{value:.0%}"


def _reliability(c: dict[str, Any]) -> str:
    rel = c.get("reliability") or {}
    anti = rel.get("anti_steerable") or {}
    half = rel.get("split_half") or {}
    if not anti:
        return "-"
    text = f"{_pct(anti.get('anti_steerable_fraction'))} wrong ({anti.get('n_wrong')}/{anti.get('n')})"
    if half:
        text += f"; halves agree {_pct(half.get('sign_agreement'))}"
        if half.get("spearman") is not None:
            text += f", rho {_num(half['spearman'], 2)}"
    return text


def _contracts(data: dict[str, Any]) -> list[str]:
    lines = [
        "## Style contracts, both directions",
        "",
        f"Model `{data['model']}`; each style and direction on the held-out half of its question set "
        f"(`steering_core/data/behaviour/questions/`), greedy, {data['max_new_tokens']} new tokens; "
        "baseline = the same model "
        "unhooked. `positive` = +alpha toward the style's positive pole, `negative` = -alpha toward the negative "
        "pole. Effect = change of the mean in the required direction (positive = as required); the bound is the "
        "one-sided 95% lower confidence bound (paired bootstrap over questions, 4000 resamples) and must clear the "
        "threshold. Fluency = perplexity ratio of the steered answers to the baseline's under the unsteered model "
        "(must be <= the bound). Reliability = share of questions moved the wrong way (anti-steerable) and "
        "split-half agreement. AUC = the metric's validation on hand-labelled texts (held-out third). Controls: "
        "alpha = 0 and a random direction of the same norm; *specific* = passes and neither control does.",
        "",
        "| style | direction | recipe | ratio | criterion | baseline | steered | effect | 95% lower bound | "
        "fluency (ppl ratio) | guard | reliability | metric AUC | verdict | random control | specific |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in data["contracts"]:
        cond = c["conditions"]
        guard = cond["calibrated"]["guard"]
        inherited = guard.get("n_degenerate_in_baseline", 0)
        guard_text = (
            f"{_verdict(guard['passed'])} ({guard['n_degenerate']} degen."
            + (f" + {inherited} as in baseline" if inherited else "")
            + f", {guard['on_topic_share']:.0%} on topic)"
        )
        fl = c.get("fluency") or {}
        fluency = (
            f"{_num(fl.get('perplexity_ratio'))} (<= {_num(fl.get('max_ratio'))}) {_verdict(bool(fl.get('passed')))}"
            if fl
            else "-"
        )
        val = c.get("validation") or {}
        auc = _num(val.get("auc_held_out")) if "auc_held_out" in val else val.get("error", "-")
        recipe = (c.get("recipe") or {}).get("name", f"L{c['layer']}")
        lines.append(
            f"| {c['style']} | {c.get('direction', 'positive')} | {recipe} | {_num(c['ratio'])} | {c['rule']} | "
            f"{_num(c['baseline_mean'])} | {_num(c['steered_mean'])} | {_num(c['effect'])} | {_num(c['ci_low'])} | "
            f"{fluency} | {guard_text} | {_reliability(c)} | {auc} | **{_verdict(c['passed'])}** | "
            f"{_verdict(cond['random_vector']['passed'])} "
            f"(effect {_num(cond['random_vector']['criteria'][0]['effect'])}) | {_num(c['specific'])} |"
        )
    seeds = [c for c in data["contracts"] if c["conditions"]["calibrated"]["seed_checks"]]
    for c in seeds:
        lines += [
            "",
            f"Seed checks for `{c['style']}` ({c.get('direction', 'positive')}; pooled means, contract's alpha):",
            "",
            "| check | baseline | steered | holds |",
            "|---|---|---|---|",
        ]
        rules = {
            "words_per_sentence": "words per sentence down",
            "type_token_ratio": "type-token ratio >= 0.95 x baseline",
            "hedging_rate": "hedging (per 100 words) not up",
            "exclamation_rate": "exclamations (per 100 words) not up",
            "words": "total words down",
        }
        for s in c["conditions"]["calibrated"]["seed_checks"]:
            lines.append(
                f"| {rules.get(s['name'], s['name'])} | {_num(s['baseline'])} | {_num(s['steered'])} | "
                f"{_num(s['passed'])} |"
            )
    return lines


def _prompting(data: dict[str, Any]) -> list[str]:
    comps = data.get("prompting") or []
    if not comps:
        return []
    lines = [
        "",
        "## Against prompting",
        "",
        "Positive direction, same held-out questions. `prompt` = the pole's instruction before the question, "
        "unsteered; `steer xm` = steering alone at m x the contract's perturbation; `prompt+steer xm` = both. "
        "Cells: effect (in the criterion's units; positive = toward the pole) / perplexity ratio to the baseline "
        "answers (unsteered model, plain question) / mean words; * = on the Pareto front (no other condition has "
        "more effect at no more perplexity).",
        "",
    ]
    labels = [pt["label"] for pt in comps[0]["points"] if pt["kind"] != "baseline"]
    lines += ["| style | criterion | " + " | ".join(labels) + " |", "|---|---|" + "---|" * len(labels)]
    for comp in comps:
        front = set(comp["pareto_front"])
        cells = []
        for pt in comp["points"]:
            if pt["kind"] == "baseline":
                continue
            star = "*" if pt["label"] in front else ""
            cells.append(f"{_num(pt['effect'])} / {_num(pt['perplexity_ratio'])} / {pt['mean_words']:.0f}w{star}")
        lines.append(f"| {comp['style']} | {comp.get('metric', '')} | " + " | ".join(cells) + " |")
    lines += ["", "AxBench-style summary (after arXiv 2501.17148):", ""]
    lines += [f"- **{comp['style']}**: {comp['summary']['text']}." for comp in comps]
    return lines


def _parity(data: dict[str, Any]) -> list[str]:
    if not data.get("parity"):
        return []
    lines = [
        "",
        "## Prompt-level control versus injection",
        "",
        "Same questions; `prompt+`/`prompt-` put the style's positive/negative pole instruction before the question; "
        "`steer` rows add alpha * v at the contract's layer. Parity alpha: where the steered mean metric reaches the "
        "prompt's (linear interpolation, up to the first incoherent cell); symmetric when |a+| and |a-| agree within "
        "25%. Incoherent = the guard fails (degeneracy the baseline answer already has does not count).",
        "",
        "| style | metric | baseline | prompt+ | prompt- | steered (alpha: metric, words) | parity alpha + (ratio) "
        "| parity alpha - (ratio) | symmetric |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for p in data["parity"]:
        rows = {r["label"]: r for r in p["rows"]}
        steer_cells = ", ".join(
            f"{r['alpha']:+g}: {_num(r['mean_metric'])}, {r['mean_words']:.0f}w"
            + ("" if r["coherent"] else " (incoherent)")
            for r in p["rows"]
            if r["label"].startswith("steer")
        )

        def par(alpha: float | None, ratio: float | None) -> str:
            if alpha is None:
                return "not reached"
            return "prompt has no effect" if alpha == 0 else f"{alpha:+.3g} ({_num(ratio)})"

        lines.append(
            f"| {p['style']} | {p['metric']} | {_num(rows['baseline']['mean_metric'])} "
            f"({rows['baseline']['mean_words']:.0f}w) | {_num(rows['prompt+']['mean_metric'])} "
            f"({rows['prompt+']['mean_words']:.0f}w) | {_num(rows['prompt-']['mean_metric'])} "
            f"({rows['prompt-']['mean_words']:.0f}w) | {steer_cells} | "
            f"{par(p['parity_alpha_positive'], p['parity_ratio_positive'])} | "
            f"{par(p['parity_alpha_negative'], p['parity_ratio_negative'])} | {_num(p['symmetric'])} |"
        )
    return lines


def _lens(data: dict[str, Any]) -> list[str]:
    reports = data.get("lens_by_style") or []
    if not reports:
        return []
    names = [entry["name"] for entry in reports[0]["lenses"]]
    header = (
        "| lens | baseline | "
        + " | ".join(f"{r['style']} (L{r['layer']}, a={_num(r['alpha'])})" for r in reports)
        + " |"
    )
    lines = [
        "",
        "## Lens bleed",
        "",
        f"Matched words / total words on the answers to `{reports[0]['prompt_set']}` "
        f"(lens vocabulary `{reports[0]['lens_version']}`); bands: < 1% clean, 1-3% ambient, 3-5% captured, "
        "> 5% full contamination. Cells: score % [band] (change in percentage points).",
        "",
        header,
        "|---|---|" + "---|" * len(reports),
    ]
    for i, name in enumerate(names):
        base = reports[0]["lenses"][i]
        cells = [
            f"{e['steered']:.2%} [{e['band_steered']}] ({100 * e['change']:+.2f})"
            for e in (r["lenses"][i] for r in reports)
        ]
        lines.append(f"| {name} | {base['baseline']:.2%} [{base['band_baseline']}] | " + " | ".join(cells) + " |")
    return lines


def render_markdown(data: dict[str, Any]) -> str:
    """The markdown report of a behaviour run."""
    lines = [
        f"# Behaviour report ({data['mode']} run, {data['created']})",
        "",
        f"Model fingerprint: config `{data['model_fingerprint']['config_sha256'][:12]}`, weights "
        f"`{data['model_fingerprint']['weights_sha256'][:12]}`; metrics `{data.get('metrics_version', '-')}`; "
        f"recipes from {data.get('recipes_created') or 'the calibration (no recipe search recorded)'}; "
        f"{data['n_generations']} generations ({data.get('n_rows', '-')} batched rows).",
        "",
        *_contracts(data),
        *_prompting(data),
        *_parity(data),
        *_lens(data),
        "",
    ]
    return "\n".join(lines)
