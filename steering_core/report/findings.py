"""One-line findings read off the report data (the page's "At a glance" list).

Pure functions of :class:`~steering_core.report.data.ReportData`; every number quoted comes from
the data files, so the list is reproducible offline.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from steering_core.errors import InvalidParameterError
from steering_core.plots.data import AnatomyData, BasinsData, SweepData
from steering_core.report.data import ReportData


def _anatomy(a: dict[str, Any], layer: int | None) -> list[str]:
    data = AnatomyData.from_dict(a)
    ratios = data.ratios()
    out: list[str] = []
    if layer is not None and layer in data.layers:
        i = data.layers.index(layer)
        out.append(
            f"Layer {layer}: ||v|| = {data.vector_norm[i]:.2f}, median residual norm {data.median_norm[i]:.2f} "
            f"(first token {data.first_token_norm[i]:.0f}); "
            f"perturbation ratio at alpha {data.alpha:g} = {ratios[i]:.3f}."
        )
    k = int(np.argmax(ratios))
    out.append(
        f"Largest ratio at alpha {data.alpha:g}: layer {data.layers[k]} ({ratios[k]:.3f}); smallest: layer "
        f"{data.layers[int(np.argmin(ratios))]} ({min(ratios):.3f})."
    )
    return out


def _sweep(s: dict[str, Any], layer: int, alpha: float | None) -> list[str]:
    data = SweepData.from_dict(s)
    t = data.thresholds().get(layer)
    out = [f"Baseline answers: {data.baseline_mean_words:.1f} words on average ({data.n_prompts} prompts)."]
    if t is not None:
        parts = [f"dead zone up to alpha {t.dead_max:g}" if t.dead_max is not None else "no dead zone swept"]
        if t.effective_min is not None:
            parts.append(f"effective alpha {t.effective_min:g} to {t.effective_max:g}")
        parts.append(
            f"collapse from alpha {t.collapse_min:g}"
            if t.collapse_min is not None
            else "no collapse up to the largest alpha"
        )
        out.append(f"Layer {layer}: " + ", ".join(parts) + ".")
    cells = {c.alpha: c for c in data.cells if c.layer == layer}
    if alpha is not None and alpha in cells:
        c = cells[alpha]
        change = (
            100 * (c.mean_words - data.baseline_mean_words) / data.baseline_mean_words
            if data.baseline_mean_words
            else 0.0
        )
        out.append(
            f"Layer {layer}, alpha {alpha:g}: {c.mean_words:.1f} words ({change:+.0f}%), coherence {c.coherence:.2f}, "
            f"{c.phase}."
        )
    collapsed = sorted((c.layer, c.alpha) for c in data.cells if c.phase == "collapse")
    if collapsed:
        out.append("Collapsed cells (layer, alpha): " + ", ".join(f"({a}, {b:g})" for a, b in collapsed) + ".")
    return out


def _basins(b: dict[str, Any]) -> list[str]:
    # deferred: imports matplotlib only when this runs, not at module import
    from steering_core.plots.basins import fit_projection

    data = BasinsData.from_dict(b)
    pos, neg = np.asarray(data.positive), np.asarray(data.negative)
    v = np.asarray(data.vector)
    proj = fit_projection(np.vstack([pos, neg]), v)
    gap = pos.mean(axis=0) - neg.mean(axis=0)
    cosine = float(gap @ v) / float(np.linalg.norm(gap) * np.linalg.norm(v) or 1.0)
    p2, n2 = proj.points(pos), proj.points(neg)
    separated = bool(p2[:, 0].min() > n2[:, 0].max())
    return [
        f"Basins at layer {data.layer}: PC1 explains {100 * proj.explained[0]:.0f}% of the variance; "
        f"the poles {'separate completely' if separated else 'overlap'} along PC1; "
        f"cos(v, centroid difference) = {cosine:.2f}."
    ]


def _lens(lens: dict[str, Any]) -> list[str]:
    rows = lens.get("lenses", [])
    if not rows:
        return []
    top = max(rows, key=lambda r: float(r["steered"]))
    above_base = sum(float(r["baseline"]) >= 0.01 for r in rows)
    above_steer = sum(float(r["steered"]) >= 0.01 for r in rows)
    return [
        f"Lens bleed (layer {lens.get('layer')}, alpha {lens.get('alpha')}): {above_steer} of {len(rows)} lenses at "
        f">= 1% steered vs {above_base} at baseline; highest steered: {top['name']} "
        f"{100 * float(top['steered']):.1f}% ({top.get('band_steered', '?')})."
    ]


def findings(data: ReportData) -> list[str]:
    """The findings list (empty parts contribute nothing; malformed parts are skipped, not fatal)."""
    layer = data.meta.get("layer")
    alpha = data.meta.get("alpha")
    out: list[str] = []
    parts: list[tuple[Any, Any]] = [
        (data.anatomy, lambda: _anatomy(data.anatomy or {}, layer)),
        (data.sweep, lambda: _sweep(data.sweep or {}, data.phase_layer(), alpha)),
        (data.basins, lambda: _basins(data.basins or {})),
        (data.lens, lambda: _lens(data.lens or {})),
    ]
    for present, make in parts:
        if present is None:
            continue
        try:
            out.extend(make())
        except (InvalidParameterError, KeyError, TypeError, ValueError):
            continue
    board = data.board or {}
    if board.get("available") and board.get("rows"):
        counts = Counter(str(r.get("status")) for r in board["rows"])
        out.append(
            f"Conjectures: {len(board['rows'])} ("
            + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
            + f"), {sum(int(r.get('n_evidence', 0)) for r in board['rows'])} evidence records."
        )
    m = data.matrix or {}
    if m.get("rows"):
        out.append(
            f"Verification matrix ({m.get('mode', 'recorded')}): {len(m['rows'])} properties, "
            f"{m.get('gaps', '?')} gap(s)."
        )
    for entry in data.certificates:
        out.append(f"Certificate {entry.get('source')}: {'VERIFIED' if entry.get('ok') else 'FAILED'}.")
    return out
