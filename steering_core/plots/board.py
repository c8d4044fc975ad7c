"""Conjecture board: every conjecture as a tile coloured by status, rows by group.

Each group is a block of rows (at most :data:`PER_ROW` tiles a row, wrapping); a tile shows the
conjecture id and its evidence count. The right-hand column sums each group: conjectures per
status and evidence records in total. The figure size is fixed; tiles and text shrink to fit.
"""

from __future__ import annotations

import math
import textwrap

from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from steering_core.plots.data import BOARD_STATUSES, BoardData
from steering_core.plots.style import figure_context, new_figure, note

SIZE: tuple[float, float] = (11.0, 6.5)
PER_ROW = 8
_TILES_X = 2.4  # x of the first tile column, in tile widths; group labels sit to its left
STATUS_COLOURS: dict[str, str] = {
    "open": "#cfd8dc",
    "testing": "#ffe082",
    "confirmed": "#a5d6a7",
    "refuted": "#ef9a9a",
    "proved": "#2e7d32",
}
OTHER_COLOUR = "#eeeeee"


def board_figure(data: BoardData) -> Figure:
    """The conjecture board of ``data`` (an empty board says so)."""
    groups = data.groups
    layout: list[tuple[str, int]] = []  # (group, tiles in this row) per visual row
    for group in groups:
        members = [r for r in data.rows if r.group == group]
        for start in range(0, len(members), PER_ROW):
            layout.append((group, len(members[start : start + PER_ROW])))
    n_rows = max(len(layout), 1)
    with figure_context():
        fig = new_figure(*SIZE)
        ax = fig.subplots()
        ax.set_axis_off()
        ax.set_xlim(0, _TILES_X + PER_ROW + 4.2)
        ax.set_ylim(n_rows + 0.2, -0.6)
        ax.set_title(f"Conjecture board: {len(data.rows)} conjectures in {len(groups)} group(s)")
        if not data.rows:
            ax.text(PER_ROW / 2, 0.5, "no conjectures registered", ha="center", va="center", fontsize=12)
        scale = min(1.0, 9.0 / n_rows)
        font = max(5.5, 8.5 * math.sqrt(scale))
        row_index = 0
        for group in groups:
            members = [r for r in data.rows if r.group == group]
            first_row = row_index
            for start in range(0, len(members), PER_ROW):
                for k, row in enumerate(members[start : start + PER_ROW]):
                    x, y = _TILES_X + k, row_index
                    colour = STATUS_COLOURS.get(row.status, OTHER_COLOUR)
                    ax.add_patch(Rectangle((x, y), 0.92, 0.86, facecolor=colour, edgecolor="#455a64", linewidth=0.8))
                    text_colour = "white" if row.status == "proved" else "black"
                    ax.text(
                        x + 0.46,
                        y + 0.43,
                        f"{row.id}\n{row.n_evidence} ev.",
                        ha="center",
                        va="center",
                        fontsize=font,
                        color=text_colour,
                    )
                row_index += 1
            label = textwrap.fill(group, 18)
            ax.text(_TILES_X - 0.12, first_row + 0.43, label, ha="right", va="center", fontsize=font + 1, weight="bold")
            counts = {
                s: sum(r.status == s for r in members)
                for s in dict.fromkeys([*BOARD_STATUSES, *(r.status for r in members)])
            }
            summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
            evidence = sum(r.n_evidence for r in members)
            ax.text(
                _TILES_X + PER_ROW + 0.25,
                first_row + 0.43,
                f"{summary}\n{evidence} evidence record(s)",
                ha="left",
                va="center",
                fontsize=font,
            )
        statuses = list(dict.fromkeys([*BOARD_STATUSES, *(r.status for r in data.rows)]))
        handles = [Patch(facecolor=STATUS_COLOURS.get(s, OTHER_COLOUR), edgecolor="#455a64", label=s) for s in statuses]
        fig.legend(handles=handles, loc="outside right upper", title="status", framealpha=0.9)
        note(fig, "Tile: conjecture id and its number of evidence records; colour: current status.")
    return fig
