"""Layer anatomy: where in the network a style vector is large relative to the residual stream.

Top panel (log scale): per layer, the median residual norm (first token excluded), the first
token's norm (the attention sink, often ~100x the rest) and the style vector's norm ``||v_L||``.
Bottom panel: the perturbation ratio ``|alpha| * ||v_L|| / median norm`` at the chosen alpha,
with the selected layer marked. Figure size :data:`SIZE` inches at :data:`~.style.DPI`.
"""

from __future__ import annotations

from matplotlib.figure import Figure

from steering_core.plots.data import AnatomyData
from steering_core.plots.style import SERIES, figure_context, new_figure, note

SIZE: tuple[float, float] = (10.0, 7.0)


def anatomy_figure(data: AnatomyData) -> Figure:
    """The layer-anatomy figure for ``data`` (two panels sharing the layer axis)."""
    ratios = data.ratios()
    with figure_context():
        fig = new_figure(*SIZE)
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
        layers = list(data.layers)
        top.plot(layers, data.first_token_norm, "s-", color=SERIES[2], label="first-token norm (attention sink)")
        top.plot(layers, data.median_norm, "o-", color=SERIES[0], label="median residual norm (first token excluded)")
        top.plot(layers, data.vector_norm, "^-", color=SERIES[1], label=f"style vector norm ||v|| ({data.style})")
        top.set_yscale("log")
        top.set_ylabel("L2 norm (log scale)")
        top.set_title(f"Layer anatomy: {data.model}, style {data.style}")
        top.legend(loc="best")
        bottom.bar(layers, ratios, color=SERIES[3], width=0.7, label=f"ratio at alpha = {data.alpha:g}")
        bottom.set_ylabel("perturbation ratio")
        bottom.set_xlabel("decoder layer (output of layer L)")
        peak = max(ratios)
        for level in (0.1, 0.5, 1.0):
            if level <= 1.15 * peak:
                bottom.axhline(level, color="#777777", linestyle=":", linewidth=0.9)
                bottom.annotate(f"{level:g}", (layers[-1] + 0.6, level), fontsize=7.5, color="#555555", va="center")
        if data.selected_layer is not None:
            i = layers.index(data.selected_layer)
            for ax in (top, bottom):
                ax.axvline(data.selected_layer, color=SERIES[1], linestyle="--", linewidth=1.0, alpha=0.7)
            bottom.annotate(
                f"L{data.selected_layer}: {ratios[i]:.3f}",
                (data.selected_layer, ratios[i]),
                xytext=(4, 4),
                textcoords="offset points",
                fontsize=8.5,
                color=SERIES[1],
            )
        bottom.legend(loc="upper left")
        bottom.set_xticks(layers if len(layers) <= 32 else layers[:: max(1, len(layers) // 16)])
        bottom.set_xlim(layers[0] - 0.8, layers[-1] + 1.4)
        source = f" over {data.prompt_set}" if data.prompt_set else ""
        note(
            fig,
            f"Residual norms at each decoder layer's output{source} (chat-templated, padding excluded). "
            "ratio = |alpha| * ||v_L|| / median residual norm_L.",
        )
    return fig
