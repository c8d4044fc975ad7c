"""The report page: one static HTML file with inline CSS, no JavaScript, relative image links.

Sections, in order: summary, layer anatomy, alpha phase diagram, heat map, style basins, lens
radar, conjecture board, verification matrix, then (only when present) contracts, certificates
and benchmarks. A section whose data is missing says so instead of disappearing, except the
last three, which are optional by nature. Every value is HTML-escaped. Raster figures are
``<img>`` elements (PNG) linking to their SVG twin.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from steering_core.behaviour.prompting import pareto_svg
from steering_core.cprr.board import SEED_KEYS
from steering_core.plots.data import SweepData
from steering_core.report.data import ReportData
from steering_core.report.findings import findings

CONTRACT_COLUMNS: tuple[str, ...] = (
    "style",
    "direction",
    "metric",
    "layer",
    "alpha",
    "ratio",
    "effect",
    "ci_low",
    "ci_high",
    "threshold",
    "passed",
)

CSS = """
body { font-family: -apple-system, "Segoe UI", "DejaVu Sans", Arial, sans-serif; margin: 0; color: #1d1d1f;
  background: #fafafa; line-height: 1.45; }
main { max-width: 1120px; margin: 0 auto; padding: 1.2em 1.6em 3em; background: white; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 2.2em; border-bottom: 2px solid #e3e3e3; padding-bottom: 0.2em; }
h3 { font-size: 1.05em; margin-top: 1.4em; }
nav { font-size: 0.9em; margin: 0.6em 0 1.2em; }
nav a { margin-right: 0.9em; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e3e3e3; }
figcaption { font-size: 0.9em; color: #444; margin-top: 0.3em; }
table { border-collapse: collapse; font-size: 0.86em; margin: 0.6em 0; }
th, td { border: 1px solid #d9d9d9; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.pass { background: #e8f5e9; } .fail { background: #ffebee; } .warn { background: #fff8e1; }
.skip { color: #777; } .gap { background: #ffebee; font-weight: bold; }
.missing { color: #8a6d00; background: #fff8e1; border-left: 4px solid #f0c000; padding: 0.5em 0.8em; }
.note { color: #555; font-size: 0.9em; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; font-size: 0.8em; }
details { margin: 0.5em 0; } summary { cursor: pointer; color: #1f4e79; }
.kv th { width: 14em; }
"""


@dataclass(frozen=True)
class FigureRef:
    """A rendered figure: relative PNG and SVG paths, pixel size, alt text and caption."""

    png: str
    svg: str
    width: int
    height: int
    alt: str
    caption: str


def esc(value: Any) -> str:
    """HTML-escape ``str(value)``."""
    return html.escape(str(value), quote=True)


def fmt(value: Any) -> str:
    """A compact display form: 4 significant digits for floats, yes/no for booleans, '-' for None."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _cell(value: Any, css: str = "") -> str:
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    classes = " ".join(c for c in (css, "num" if numeric else "") if c)
    attr = f' class="{classes}"' if classes else ""
    return f"<td{attr}>{esc(fmt(value))}</td>"


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], css: Sequence[Sequence[str]] | None = None) -> str:
    """A plain table; ``css[i][j]`` is an optional class for cell ``(i, j)``."""
    out = ["<table>", "<tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>"]
    for i, row in enumerate(rows):
        classes = css[i] if css is not None else [""] * len(row)
        out.append("<tr>" + "".join(_cell(v, c) for v, c in zip(row, classes, strict=True)) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def kv_table(pairs: Iterable[tuple[str, Any]]) -> str:
    """A two-column key/value table."""
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(fmt(v))}</td></tr>" for k, v in pairs)
    return f'<table class="kv">{rows}</table>'


def missing(text: str) -> str:
    """A highlighted 'not available' paragraph."""
    return f'<p class="missing">{esc(text)}</p>'


def figure_html(ref: FigureRef) -> str:
    """``<figure>`` with the PNG linking to the SVG."""
    return (
        f'<figure><a href="{esc(ref.svg)}"><img src="{esc(ref.png)}" width="{ref.width}" height="{ref.height}" '
        f'alt="{esc(ref.alt)}"></a><figcaption>{esc(ref.caption)} '
        f'(<a href="{esc(ref.svg)}">SVG</a>)</figcaption></figure>'
    )


def generic_table(rows: Sequence[Mapping[str, Any]], preferred: Sequence[str] = ()) -> str:
    """One row per dict: the ``preferred`` columns that occur, then every other scalar key that occurs."""
    present = [c for c in preferred if any(c in r for r in rows)]
    extra = sorted(
        {k for r in rows for k, v in r.items() if k not in present and (v is None or isinstance(v, (str, int, float)))}
    )
    columns = present + extra
    css = [["pass" if r.get(c) is True else ("fail" if r.get(c) is False else "") for c in columns] for r in rows]
    return table(columns, [[r.get(c) for c in columns] for r in rows], css)


# --------------------------------------------------------------------------- sections
def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}">\n<h2>{esc(title)}</h2>\n{body}\n</section>'


def _summary(data: ReportData) -> str:
    meta = data.meta
    fingerprint = meta.get("fingerprint") or {}
    version = meta.get("code_version") or {}
    commit = version.get("commit")
    code = f"steering-spec {version.get('package', '?')}" + (
        f", commit {str(commit)[:12]}{' (uncommitted changes)' if version.get('dirty') else ''}" if commit else ""
    )
    pairs: list[tuple[str, Any]] = [
        ("model", meta.get("model")),
        ("weights fingerprint (strided-sample-v1)", fingerprint.get("weights")),
        ("config fingerprint (config-fields-v1)", fingerprint.get("config")),
        ("style", meta.get("style")),
        ("layer", meta.get("layer")),
        ("alpha", meta.get("alpha")),
        ("created (UTC)", meta.get("created")),
        ("code version", code),
        ("mode", meta.get("mode")),
        ("build time", f"{meta['seconds']:.1f} s" if isinstance(meta.get("seconds"), (int, float)) else None),
    ]
    body = [kv_table(pairs)]
    found = findings(data)
    if found:
        body.append("<h3>At a glance</h3><ul>" + "".join(f"<li>{esc(f)}</li>" for f in found) + "</ul>")
    notes = meta.get("notes") or {}
    if notes:
        body.append(
            "<h3>Where each part came from</h3><ul>"
            + "".join(f"<li><b>{esc(k)}</b>: {esc(v)}</li>" for k, v in sorted(notes.items()))
            + "</ul>"
        )
    return _section("summary", "Summary", "\n".join(body))


def _anatomy(data: ReportData, figures: Mapping[str, FigureRef]) -> str:
    if data.anatomy is None or "anatomy" not in figures:
        return _section("anatomy", "Layer anatomy", missing(data.note("anatomy") or "no anatomy data"))
    a = data.anatomy
    rows = list(zip(a["layers"], a["median_norm"], a["first_token_norm"], a["vector_norm"], strict=True))
    # deferred: imports torch, deal, icontract only when this runs, not at module import
    from steering_core.ops import perturbation_ratio

    detail = table(
        ["layer", "median |h| (first token excluded)", "first-token |h|", "|v|", f"ratio at alpha {a['alpha']:g}"],
        [[layer, m, f, v, perturbation_ratio(a["alpha"], v, m)] for layer, m, f, v in rows],
    )
    return _section(
        "anatomy",
        "Layer anatomy",
        figure_html(figures["anatomy"]) + f"<details><summary>per-layer numbers</summary>{detail}</details>",
    )


def _thresholds_table(sweep: Mapping[str, Any]) -> str:
    parsed = SweepData.from_dict(sweep)
    rows = []
    for layer, t in sorted(parsed.thresholds().items()):
        effective = None if t.effective_min is None else f"{t.effective_min:g} .. {t.effective_max:g}"
        rows.append([layer, t.dead_max, effective, t.collapse_min])
    return table(["layer", "dead zone up to alpha", "effective alphas", "collapse from alpha"], rows)


def _cells_table(sweep: Mapping[str, Any]) -> str:
    parsed = SweepData.from_dict(sweep)
    rows, css = [], []
    for c in sorted(parsed.cells, key=lambda c: (c.layer, c.alpha)):
        rows.append(
            [
                c.layer,
                c.alpha,
                c.ratio,
                c.mean_words,
                f"{c.n_identical}/{c.n_answers}",
                c.n_degenerate,
                c.coherence,
                c.phase,
            ]
        )
        phase_css = {"collapse": "fail", "effective": "pass", "dead": "skip"}[c.phase]
        css.append(["", "", "", "", "", "", "", phase_css])
    return table(["layer", "alpha", "ratio", "mean words", "identical", "degenerate", "coherence", "phase"], rows, css)


def _answers(sweep: Mapping[str, Any], layer: int | None) -> str:
    prompts = sweep.get("prompts") or []
    baseline = (sweep.get("baseline") or {}).get("answers") or []
    cells = [c for c in sweep.get("cells", []) if c.get("layer") == layer and c.get("answers")]
    if not prompts or not baseline or not cells:
        return ""
    rows = [["baseline", "-", baseline[0]]] + [
        [f"alpha {c['alpha']:g}", c["phase"], c["answers"][0]] for c in sorted(cells, key=lambda c: c["alpha"])
    ]
    return (
        f"<details><summary>answers to “{esc(prompts[0])}” at layer {esc(layer)}</summary>"
        + table(["answer", "phase", "text"], rows)
        + "</details>"
    )


def _phase(data: ReportData, figures: Mapping[str, FigureRef]) -> str:
    if data.sweep is None or "phase" not in figures:
        return _section("phase", "Alpha phase diagram", missing(data.note("sweep") or "no sweep data"))
    body = [figure_html(figures["phase"]), "<h3>Thresholds per layer</h3>", _thresholds_table(data.sweep)]
    body.append(f"<details><summary>every cell</summary>{_cells_table(data.sweep)}</details>")
    body.append(_answers(data.sweep, data.phase_layer()))
    return _section("phase", "Alpha phase diagram", "\n".join(body))


def _heatmap(data: ReportData, figures: Mapping[str, FigureRef]) -> str:
    refs = [figures[k] for k in ("heatmap", "heatmap_metric") if k in figures]
    if data.sweep is None or not refs:
        return _section("heatmap", "Layer x alpha heat map", missing(data.note("sweep") or "no sweep data"))
    return _section("heatmap", "Layer x alpha heat map", "\n".join(figure_html(r) for r in refs))


def _basins(data: ReportData, figures: Mapping[str, FigureRef]) -> str:
    if data.basins is None or "basins" not in figures:
        return _section("basins", "Style basins", missing(data.note("basins") or "no basins data"))
    return _section("basins", "Style basins", figure_html(figures["basins"]))


def _lens(data: ReportData, figures: Mapping[str, FigureRef]) -> str:
    if data.lens is None or "radar" not in figures:
        return _section("lens", "Lens radar", missing(data.note("lens") or "no lens data"))
    rows = [
        [
            r.get("name"),
            100 * float(r["baseline"]),
            r.get("band_baseline"),
            100 * float(r["steered"]),
            r.get("band_steered"),
            100 * (float(r["steered"]) - float(r["baseline"])),
        ]
        for r in data.lens.get("lenses", [])
    ]
    css = [["", "", "", "", "fail" if r[4] in ("captured", "full") else "", ""] for r in rows]
    return _section(
        "lens",
        "Lens radar",
        figure_html(figures["radar"])
        + table(["lens", "baseline %", "band", "steered %", "band", "change (pp)"], rows, css),
    )


_AGREEMENT_CSS = {"agree": "pass", "disagree": "fail"}


def _board(data: ReportData, figures: Mapping[str, FigureRef]) -> str:
    board = data.board or {}
    if not board.get("available"):
        return _section("board", "Conjecture board", missing(board.get("reason") or "conjecture registry unavailable"))
    rows = board.get("rows", [])
    body = [figure_html(figures["board"])] if "board" in figures else []
    body.append(
        table(
            ["id", "title", "group", "status", "evidence", "last verdict", "last date"],
            [
                [r.get(k) for k in ("id", "title", "group", "status", "n_evidence", "last_verdict", "last_date")]
                for r in rows
            ],
            [
                [
                    "",
                    "",
                    "",
                    {"refuted": "fail", "confirmed": "pass", "proved": "pass"}.get(str(r.get("status")), ""),
                    "",
                    "",
                    "",
                ]
                for r in rows
            ],
        )
    )
    seed = board.get("seed_rows") or []
    if seed:
        body.append(
            "<h3>The seed's conjectures: seed vs ours</h3><p>Every conjecture of the seed project "
            "(aygp-dr/qwen3-steering, Qwen3-0.6B, 28 layers) under its own id, with the seed's status beside "
            "ours (from the runs recorded under a protocol written from the seed's wording, mapped to this "
            "model's depth). Where an id used to carry another claim, that claim continues under the id shown.</p>"
        )
        body.append(
            table(
                ["id", "the seed's claim", "seed", "ours", "", "runs", "earlier claim", "we find", "why they differ"],
                [[r.get(k) for k in SEED_KEYS] for r in seed],
                [["", "", "", "", _AGREEMENT_CSS.get(str(r.get("agreement")), ""), "", "", "", ""] for r in seed],
            )
        )
    return _section("board", "Conjecture board", "\n".join(body))


def _matrix(data: ReportData) -> str:
    m = data.matrix
    if not m or not m.get("available", True) or "rows" not in m:
        reason = (m or {}).get("reason") or data.note("matrix") or "verification matrix not evaluated"
        return _section("matrix", "Verification matrix", missing(reason))
    columns = list(m["columns"])
    rows, css = [], []
    for row in m["rows"]:
        cells = row["cells"]
        rows.append([row["id"], row.get("title", ""), *(c["text"] for c in cells)])
        css.append(
            [
                "",
                "",
                *(
                    "gap" if c.get("gap") else ("skip" if c["text"] in ("skipped", "SKIPPED") else "pass")
                    for c in cells
                ),
            ]
        )
    gaps = m.get("gaps", sum(1 for r in m["rows"] for c in r["cells"] if c.get("gap")))
    head = (
        f'<p class="note">Mode: {esc(m.get("mode", "recorded"))}: {esc(m.get("note", ""))}. '
        f"{esc(len(rows))} properties, {esc(gaps)} gap(s)"
        + (f", evaluated in {esc(m['seconds'])} s" if "seconds" in m else "")
        + ".</p>"
    )
    tail = "".join(f'<p class="note">{esc(m[k])}</p>' for k in ("lean", "scan") if m.get(k))
    return _section("matrix", "Verification matrix", head + table(["property", "title", *columns], rows, css) + tail)


def _conformance(data: ReportData) -> str:
    runs = (data.conformance or {}).get("runs") or []
    if not runs:
        return _section(
            "conformance",
            "Conformance",
            missing(data.note("conformance") or "no steer conform records (run steer conform --backend NAME)"),
        )
    ids: list[str] = []
    for run in runs:
        ids.extend(r["id"] for r in run["results"] if r["id"] not in ids)
    header = ["property", *(f"{r['backend']} ({r['model']})" for r in runs)]
    rows, css = [], []
    for pid in ids:
        cells, styles = [pid], [""]
        for run in runs:
            result = next((r for r in run["results"] if r["id"] == pid), None)
            if result is None:
                cells.append("not run")
                styles.append("skip")
                continue
            status = result["status"]
            label = "not supported" if status == "unsupported" else status
            cells.append(f"{label}: {result['figure']}" if status != "unsupported" else label)
            styles.append({"pass": "pass", "unsupported": "skip"}.get(status, "gap"))
        rows.append(cells)
        css.append(styles)
    verdicts = "; ".join(
        f"{r['backend']}: {'conforms' if r.get('passed') else 'DOES NOT CONFORM'}"
        f" ({r['counts']['pass']} pass, {r['counts']['fail'] + r['counts']['error']} fail,"
        f" {r['counts']['unsupported']} not supported)"
        for r in runs
    )
    head = (
        f'<p class="note">{esc(data.note("conformance"))}. Properties: steering_core/data/conformance.toml. '
        f"A property a backend does not support is shown as not supported, never as passed. {esc(verdicts)}.</p>"
    )
    return _section("conformance", "Conformance", head + table(header, rows, css))


def _contracts(data: ReportData) -> str:
    parts = data.behaviour or {}
    contracts, parity = parts.get("contracts") or [], parts.get("parity") or []
    if not contracts and not parity:
        return ""
    body = []
    if contracts:
        body.append(generic_table(contracts, CONTRACT_COLUMNS))
    if parity:
        body.append("<h3>Prompt vs injection parity</h3>" + generic_table(parity))
    body += _prompting(parts.get("prompting") or [])
    source = data.note("behaviour")
    if source:
        body.insert(0, f'<p class="note">{esc(source)}</p>')
    return _section("contracts", "Behavioural contracts", "\n".join(body))


def _prompting(comparisons: Sequence[Mapping[str, Any]]) -> list[str]:
    """Against prompting (issue 18): a Pareto plot (inline SVG), the points and the summary per style."""
    if not comparisons:
        return []
    body = [
        "<h3>Against prompting</h3>",
        '<p class="note">Per style: the pole instruction in the prompt, steering alone and prompt + steering over '
        "the alpha range; effect (toward the pole, criterion units) against the perplexity ratio to the baseline "
        "answers under the unsteered model. Filled points are on the Pareto front.</p>",
        '<div class="figures">' + "".join(pareto_svg(dict(c)) for c in comparisons) + "</div>",
    ]
    for c in comparisons:
        summary = (c.get("summary") or {}).get("text", "")
        body.append(f"<p><b>{esc(c.get('style'))}</b>: {esc(summary)}</p>")
        body.append(generic_table(list(c.get("points") or []), ("label", "effect", "perplexity_ratio", "mean_words")))
    return body


def _certificates(data: ReportData) -> str:
    if not data.certificates:
        return ""
    body = []
    status_css = {"pass": "pass", "fail": "fail", "warn": "warn", "skip": "skip"}
    for entry in data.certificates:
        verdict = "VERIFIED" if entry.get("ok") else "FAILED"
        signed = {True: "signed", False: "unsigned", None: "signature unknown"}[entry.get("signed")]
        body.append(f"<h3>{esc(entry.get('source'))}: {verdict} ({signed})</h3>")
        results = entry.get("results", [])
        body.append(
            table(
                ["check", "status", "detail"],
                [[r["name"], r["status"], r["detail"]] for r in results],
                [["", status_css.get(r["status"], ""), ""] for r in results],
            )
        )
        cert = entry.get("body")
        if isinstance(cert, dict):
            vector, model, rec = cert.get("vector", {}), cert.get("model", {}), cert.get("recommendation", {})
            body.append(
                kv_table(
                    [
                        ("style", vector.get("style")),
                        ("layers", vector.get("layers")),
                        ("model", model.get("name")),
                        ("recommended alpha", rec.get("alpha")),
                        ("perturbation ratio", rec.get("perturbation_ratio")),
                        ("safe alpha up to", rec.get("safe_alpha_max")),
                        ("digest (sha256)", entry.get("digest")),
                    ]
                )
            )
            text = json.dumps(cert, indent=2, sort_keys=True, ensure_ascii=False)
            body.append(f"<details><summary>certificate body</summary><pre>{esc(text)}</pre></details>")
    return _section("certificates", "Certificates", "\n".join(body))


def _bench(data: ReportData) -> str:
    bench = data.bench
    if not bench:
        return ""
    body = [
        f'<p class="note">{esc(data.note("bench") or "out/bench/report.json")}, generated '
        f"{esc(bench.get('generated_at', '?'))}.</p>"
    ]
    targets = bench.get("targets") or []
    if targets:
        rows = []
        for t in targets:
            value = t.get("value")
            shown = value if isinstance(value, (int, float)) or value is None else json.dumps(value, sort_keys=True)
            rows.append([t.get("target"), shown, t.get("verdict")])
        css = [
            ["", "", "pass" if str(r[2]).startswith("met") else ("fail" if "NOT" in str(r[2]) else "")] for r in rows
        ]
        body.append(table(["target", "value", "verdict"], rows, css))
    suites = bench.get("suites") or {}
    ratio_rows = [
        [name, mode, s.get("median"), s.get("q1"), s.get("q3")]
        for name, suite in sorted(suites.items())
        if isinstance(suite, dict)
        for mode, s in sorted((suite.get("ratios") or {}).items())
        if isinstance(s, dict)
    ]
    if ratio_rows:
        body.append(
            "<details><summary>timing ratios per suite (median, IQR)</summary>"
            + table(["suite", "mode", "median ratio", "q1", "q3"], ratio_rows)
            + "</details>"
        )
    return _section("benchmarks", "Benchmarks", "\n".join(body))


NAV: tuple[tuple[str, str], ...] = (
    ("summary", "Summary"),
    ("anatomy", "Anatomy"),
    ("phase", "Phase diagram"),
    ("heatmap", "Heat map"),
    ("basins", "Basins"),
    ("lens", "Lens radar"),
    ("board", "Conjectures"),
    ("matrix", "Verification matrix"),
    ("conformance", "Conformance"),
    ("contracts", "Contracts"),
    ("certificates", "Certificates"),
    ("benchmarks", "Benchmarks"),
)


def render_page(data: ReportData, figures: Mapping[str, FigureRef]) -> str:
    """The whole page as a string (deterministic for fixed ``data`` and ``figures``)."""
    sections = [
        _summary(data),
        _anatomy(data, figures),
        _phase(data, figures),
        _heatmap(data, figures),
        _basins(data, figures),
        _lens(data, figures),
        _board(data, figures),
        _matrix(data),
        _conformance(data),
        _contracts(data),
        _certificates(data),
        _bench(data),
    ]
    present = {s.split('"', 2)[1] for s in sections if s}
    nav = " ".join(f'<a href="#{a}">{esc(t)}</a>' for a, t in NAV if a in present)
    title = f"steering report: {data.meta.get('style', '?')} on {data.meta.get('model', '?')}"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{esc(title)}</title>",
            f"<style>{CSS}</style>",
            "</head>",
            "<body><main>",
            f"<h1>{esc(title)}</h1>",
            f"<nav>{nav}</nav>",
            *[s for s in sections if s],
            '<p class="note">Generated by <code>steer report</code>. Every input is in <code>data/</code>; '
            "rebuild offline with <code>steer report --from-data data --out DIR</code>. "
            "Figures: <code>figures/</code> (PNG and SVG).</p>",
            "</main></body>",
            "</html>",
            "",
        ]
    )
