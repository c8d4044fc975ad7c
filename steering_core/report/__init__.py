"""The verification report: one static HTML page of figures and tables (``steer report``).

Modules: :mod:`~.data` (:class:`ReportData`, the inputs and their ``data/*.json`` files),
:mod:`~.sources` (matrix, conjecture board, certificates, recorded files), :mod:`~.live` (what
is measured on a model), :mod:`~.gather` (sources in order of preference), :mod:`~.findings`
(the summary's one-liners), :mod:`~.html` (the page), :mod:`~.build` (:func:`build_report`:
figures + data + page, atomically), :mod:`~.browser` (headless-Chromium image check),
:mod:`~.cli` (``steer report`` and ``steer plot``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from steering_core.lazy import lazy_attribute

if TYPE_CHECKING:
    from steering_core.report.build import build_report
    from steering_core.report.data import ReportData

# deferred: each name loads its module on first use, so importing the package (e.g. for one
# light submodule, or while `steer --help` builds its parser) pulls in nothing heavy.
_EXPORTS: dict[str, str] = {
    "ReportData": "steering_core.report.data",
    "build_report": "steering_core.report.build",
}


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _EXPORTS, name)


__all__ = ["ReportData", "build_report"]
