"""Assemble the benchmark fragments under ``out/bench/`` into ``report.md`` and ``report.json``.

Run by the benchmark session's end hook (``benchmarks/conftest.py``) and on its own with
``python -m benchmarks.report``. Every timing is a ratio to a baseline measured in the same
run (median and IQR over interleaved rounds). Targets are *reported* as met / not met, never
asserted: a benchmark on a shared 2-core machine is evidence, not a gate.

Targets (criteria as applied here):

* hook overhead <= 1% of generate on CPU, embedded model: median(hook / unsteered) - 1 <= 0.01;
* folded mode indistinguishable from unsteered: the IQR of folded / unsteered contains 1.0,
  or its median is within 1% of 1.0 (either direction);
* all-layer extraction >= 10x faster than per-layer passes (24 layers): median speed-up >= 10;
* ours no slower than any peer in the same run: for every peer and model, median(ours_hook)
  <= median(peer), or the difference is inside both IQRs (reported as "met (within noise)").
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import out_dir

PEERS = ("steering_vectors", "repeng")
ANCHORS = {
    "bare_hook": "~+2% (a plain forward hook)",
    "steering_vectors": "~+1%",
    "repeng": "~+16% (ControlModel)",
}
Target = dict[str, Any]


def load_fragments(folder: Path) -> dict[str, dict[str, Any]]:
    """Every ``*.json`` fragment in ``folder`` except the report itself, by suite name."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.json")):
        if path.name == "report.json":
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            continue
        out[str(data.get("suite", path.stem))] = data
    return out


def _pct(ratio: float) -> str:
    return f"{(ratio - 1.0) * 100:+.2f}%"


def _ratio_cell(summary: dict[str, float]) -> str:
    return f"{summary['median']:.4f} (IQR {summary['q1']:.4f}–{summary['q3']:.4f})"


def _ratio_table(result: dict[str, Any], anchors: bool = False) -> list[str]:
    head = "| mode | ratio to unsteered: median (IQR) | overhead |"
    rule = "|---|---|---|"
    if anchors:
        head, rule = head + " anchor (SmolLM2, issue 7) |", rule + "---|"
    lines = [head, rule]
    for mode, summary in result.get("ratios", {}).items():
        row = f"| {mode} | {_ratio_cell(summary)} | {_pct(summary['median'])} |"
        if anchors:
            row += f" {ANCHORS.get(mode, '')} |"
        lines.append(row)
    return lines


def _verdict(met: bool | None, note: str = "") -> str:
    if met is None:
        return "not measured"
    return ("met" if met else "NOT met") + (f" ({note})" if note else "")


def hook_targets(fragments: dict[str, dict[str, Any]]) -> list[Target]:
    """Hook-overhead and folded-mode targets from the embedded-model hook suite."""
    data = fragments.get("hook_overhead-embedded")
    hook = data["ratios"].get("hook") if data else None
    folded = data["ratios"].get("folded") if data else None
    targets: list[Target] = [
        {
            "target": "hook overhead <= 1% of generate (CPU, embedded model)",
            "value": None if hook is None else hook["median"] - 1.0,
            "verdict": _verdict(None if hook is None else hook["median"] - 1.0 <= 0.01),
        }
    ]
    if folded is None:
        why = (data or {}).get("folded_unavailable", "not measured")
        targets.append({"target": "folded mode indistinguishable from unsteered", "value": None, "verdict": why})
    else:
        inside = folded["q1"] <= 1.0 <= folded["q3"]
        close = abs(folded["median"] - 1.0) <= 0.01
        note = "IQR contains 1.0" if inside else ("median within 1%" if close else "")
        targets.append(
            {
                "target": "folded mode indistinguishable from unsteered (embedded model)",
                "value": folded["median"] - 1.0,
                "verdict": _verdict(inside or close, note),
            }
        )
    return targets


def extraction_target(fragments: dict[str, dict[str, Any]]) -> Target:
    """The >= 10x all-layer extraction target."""
    data = fragments.get("extraction-embedded")
    speedup = data["speedup"]["median"] if data else None
    return {
        "target": "all-layer extraction >= 10x faster than per-layer passes (24-layer model)",
        "value": speedup,
        "verdict": _verdict(None if speedup is None else speedup >= 10.0),
    }


def peer_target(fragments: dict[str, dict[str, Any]]) -> Target:
    """Ours (hook mode) no slower than any peer, in every peer run."""
    checks: list[tuple[str, bool, bool]] = []  # (label, strictly no slower, within noise)
    for name, data in fragments.items():
        if not name.startswith("peers-") or "ratios" not in data:
            continue
        ours = data["ratios"].get("ours_hook")
        if ours is None:
            continue
        for peer in PEERS:
            theirs = data["ratios"].get(peer)
            if theirs is None:
                continue
            faster = ours["median"] <= theirs["median"]
            noise = ours["q1"] <= theirs["q3"] and theirs["q1"] <= ours["q3"]
            checks.append((f"{data.get('model', name)}/{peer}", faster, noise))
    if not checks:
        return {"target": "ours no slower than any peer in the same run", "value": None, "verdict": "not measured"}
    slower = [label for label, faster, _ in checks if not faster]
    noisy = [label for label, faster, noise in checks if not faster and noise]
    if not slower:
        verdict = "met"
    elif len(noisy) == len(slower):
        verdict = "met (within noise: " + ", ".join(noisy) + ")"
    else:
        verdict = "NOT met (slower than " + ", ".join(x for x in slower if x not in noisy) + ")"
    return {
        "target": "ours (hook mode) no slower than any peer in the same run",
        "value": {label: faster for label, faster, _ in checks},
        "verdict": verdict,
    }


def _hook_section(fragments: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["## 1. Hook overhead (greedy generation, forced length, interleaved)", ""]
    found = False
    for name, data in fragments.items():
        if not name.startswith("hook_overhead-"):
            continue
        found = True
        lines.append(
            f"**{data.get('model', name)}**: {data.get('tokens')} new tokens, prompt {data.get('prompt_tokens')} "
            f"tokens, layer {data.get('layer')}, alpha {data.get('alpha')}, {data.get('rounds')} rounds"
        )
        lines.append("")
        lines.extend(_ratio_table(data))
        if "folded_unavailable" in data:
            lines.append(f"\nfolded mode unavailable: {data['folded_unavailable']}")
        lines.append("")
    if not found:
        lines.append("_not run_\n")
    return lines


def _peer_section(fragments: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["## 2. Peers in the same run (transformers-4 subprocess)", ""]
    found = False
    for name, data in fragments.items():
        if not name.startswith("peers-"):
            continue
        found = True
        if "skipped" in data:
            lines.append(f"**{data.get('model', name)}**: skipped — {data['skipped']}\n")
            continue
        env = data.get("environment", {})
        lines.append(
            f"**{data.get('model', name)}**: {data.get('tokens')} new tokens, layer {data.get('layer')}, "
            f"alpha {data.get('alpha')}, {data.get('rounds')} rounds; transformers {env.get('transformers')}, "
            f"steering-vectors {env.get('steering-vectors')}, repeng {env.get('repeng')}"
        )
        lines.append("")
        lines.extend(_ratio_table(data, anchors=True))
        lines.append("")
        same = data.get("same_tokens_as_ours_hook", {})
        if same:
            lines.append(
                "Same generated tokens as ours (hook): "
                + ", ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in same.items())
                + f"; steering changed the output: {'yes' if data.get('steered_differs_from_unsteered') else 'no'}"
            )
        if data.get("unavailable"):
            lines.append(f"Unavailable: {data['unavailable']}")
        lines.append("")
    if not found:
        lines.append("_not run_\n")
    return lines


def _extraction_section(fragments: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["## 3. Extraction: one batched pass for all layers vs one pass per layer", ""]
    data = fragments.get("extraction-embedded")
    if data is None:
        return [*lines, "_not run_", ""]
    s = data["speedup"]
    lines += [
        f"**{data.get('model')}**: {data['n_layers']} layers, {data['n_prompts']} prompts, {data['rounds']} rounds",
        "",
        "| measure | value |",
        "|---|---|",
        f"| per-layer time / all-layer time (speed-up), median (IQR) | {_ratio_cell(s)} |",
        f"| throughput, all layers in one pass | {data['prompts_per_second_all_layers']:.2f} prompts/s |",
        f"| throughput, one pass per layer | {data['prompts_per_second_per_layer']:.2f} prompts/s |",
        f"| same vectors (max abs difference) | {data['same_vectors']} ({data['max_abs_difference']:.2e}) |",
        "",
    ]
    return lines


def _contracts_section(fragments: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "## 4. Contracts on vs off around a steered generation",
        "",
        "| model | steer() enter+exit, on | off | steered generation | contract cost / generation |",
        "|---|---|---|---|---|",
    ]
    found = False
    for name, data in fragments.items():
        if not name.startswith("contracts-"):
            continue
        found = True
        lines.append(
            f"| {data.get('model')} | {data['enter_exit_on_s']['median'] * 1e3:.3f} ms "
            f"| {data['enter_exit_off_s']['median'] * 1e3:.3f} ms "
            f"| {data['generation_s']['median'] * 1e3:.1f} ms ({data['tokens']} tokens) "
            f"| {data['overhead_fraction']:.4%} |"
        )
    return [*lines, "", *([] if found else ["_not run_", ""])]


def perturbation_markdown(data: dict[str, Any]) -> list[str]:
    """The layers x alpha ratio tables and phase boundaries, one block per style."""
    lines = [
        f"**{data['model']}**: prompt set {data['prompt_set']} (first {data['n_prompts']}), "
        f"{data['tokens']} tokens; ratio = |alpha| * ||v_L|| / median residual norm (first token excluded)",
        "",
        "| layer | median residual norm | first-token norm |",
        "|---|---|---|",
    ]
    for row in data["residual_norms"]:
        lines.append(f"| {row['layer']} | {row['median_norm']:.2f} | {row['first_token_norm']:.2f} |")
    lines.append("")
    alphas = data["alphas"]
    for style, block in data["styles"].items():
        lines += [f"### {style}", "", "| layer \\ alpha | " + " | ".join(f"{a:g}" for a in alphas) + " |"]
        lines.append("|---|" + "---|" * len(alphas))
        cells = {(c["layer"], c["alpha"]): c for c in block["cells"]}
        for layer in data["layers"]:
            row = []
            for alpha in alphas:
                cell = cells.get((layer, alpha))
                row.append("" if cell is None else f"{cell['ratio']:.3f} {cell['phase']}")
            lines.append(f"| {layer} | " + " | ".join(row) + " |")
        lines += ["", "| layer | dead up to alpha (ratio) | effective alphas (ratio) | collapse from alpha (ratio) |"]
        lines.append("|---|---|---|---|")

        def fmt(row: dict[str, Any], key: str) -> str:
            value = row[key]
            return "—" if value is None else f"{value:g} ({row[key + '_ratio']:.3f})"

        for t in block["thresholds"]:
            effective = "—" if t["effective_min"] is None else f"{fmt(t, 'effective_min')} – {fmt(t, 'effective_max')}"
            lines.append(f"| {t['layer']} | {fmt(t, 'dead_max')} | {effective} | {fmt(t, 'collapse_min')} |")
        lines.append("")
    return lines


def build_report(folder: Path | None = None) -> tuple[Path, Path] | None:
    """Write ``report.md`` and ``report.json`` from the fragments; None when there are none."""
    folder = folder or out_dir()
    fragments = load_fragments(folder)
    if not fragments:
        return None
    targets = [*hook_targets(fragments), extraction_target(fragments), peer_target(fragments)]
    env = next((f["environment"] for f in fragments.values() if "environment" in f), {})
    lines = [
        "# steering-spec benchmark report",
        "",
        f"Generated {time.strftime('%Y-%m-%d %H:%M:%S')} from {len(fragments)} fragment(s) in `{folder}`. "
        f"Python {env.get('python')}, torch {env.get('torch')} ({env.get('torch_threads')} threads, "
        f"{env.get('cpu_count')} CPUs), transformers {env.get('transformers')}.",
        "",
        "All timings are ratios to a baseline measured in the same run, interleaved round by round; "
        "median and interquartile range (IQR) over rounds. Targets are reported, not asserted.",
        "",
        "## Targets",
        "",
        "| target | value | verdict |",
        "|---|---|---|",
    ]
    for t in targets:
        value = t["value"]
        if isinstance(value, float):
            shown = f"{value:.2f}x" if "extraction" in t["target"] else f"{value * 100:+.2f}%"
        elif value is None:
            shown = "—"
        else:
            shown = ", ".join(f"{k}: {'ok' if v else 'slower'}" for k, v in value.items())
        lines.append(f"| {t['target']} | {shown} | {t['verdict']} |")
    lines += ["", "Fragments (suite, written at, load average 1/5/15 min at the end of the suite):", ""]
    for name, data in fragments.items():
        load = data.get("environment", {}).get("loadavg")
        lines.append(f"- `{name}`: {data.get('written_at')}, load {load}")
    lines.append("")
    lines += _hook_section(fragments)
    lines += _peer_section(fragments)
    lines += _extraction_section(fragments)
    lines += _contracts_section(fragments)
    lines += ["## 5. Perturbation-to-residual ratio, layers x alpha, per style", ""]
    sweep = fragments.get("perturbation-embedded")
    if sweep is None:
        lines += ["_not run_", ""]
    else:
        table = perturbation_markdown(sweep)
        lines += table
        (folder / "perturbation.md").write_text("# Perturbation ratio table\n\n" + "\n".join(table), encoding="utf-8")
    md_path, json_path = folder / "report.md", folder / "report.json"
    payload = {"generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "targets": targets, "suites": fragments}
    for path, text in ((md_path, "\n".join(lines) + "\n"), (json_path, json.dumps(payload, indent=2) + "\n")):
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    return md_path, json_path


def main() -> int:
    """``python -m benchmarks.report [FOLDER]``: (re)build the report from existing fragments."""
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    paths = build_report(folder)
    if paths is None:
        print("no benchmark fragments found; run `make bench` first", file=sys.stderr)
        return 1
    print(f"wrote {paths[0]} and {paths[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
