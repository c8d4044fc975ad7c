"""Everything a report shows, as plain JSON-ready data, and its files under ``report/data/``.

:class:`ReportData` is the one input of :func:`steering_core.report.build.build_report`: it can
come from a live model (:mod:`steering_core.report.gather`) or from the ``data/`` folder of an
earlier report (:meth:`ReportData.read`), so a page is reproducible offline. Each part is a
dict (or None when absent) in the format its producer writes:

=================  ====================  ==================================================
attribute          file                  format
=================  ====================  ==================================================
``meta``           ``meta.json``         model, fingerprint, style, layer, alpha, created,
                                         code version, notes per section
``anatomy``        ``anatomy.json``      :class:`~steering_core.plots.data.AnatomyData`
``sweep``          ``sweep.json``        ``SweepResult.to_dict()`` (+ ``model``, metrics)
``basins``         ``basins.json``       :class:`~steering_core.plots.data.BasinsData`
``lens``           ``lens.json``         ``LensReport.to_dict()``
``board``          ``board.json``        ``{"available", "reason", "rows"}``
``matrix``         ``matrix.json``       :func:`~steering_core.report.sources.matrix_section`
``behaviour``      ``behaviour.json``    :func:`~steering_core.report.sources.behaviour_parts`
``certificates``   ``certificates.json`` list of :func:`~.sources.certificate_entry`
``bench``          ``bench.json``        ``out/bench/report.json``
``conformance``    ``conformance.json``  ``{"runs": [ConformanceReport.to_dict(), ...]}``
=================  ====================  ==================================================
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from steering_core.errors import InvalidParameterError

PARTS: tuple[str, ...] = (
    "meta",
    "anatomy",
    "sweep",
    "basins",
    "lens",
    "board",
    "matrix",
    "behaviour",
    "certificates",
    "bench",
    "conformance",
)


@dataclass
class ReportData:
    """The report's inputs (see the module docstring); ``None`` parts are shown as not available."""

    meta: dict[str, Any] = field(default_factory=dict)
    anatomy: dict[str, Any] | None = None
    sweep: dict[str, Any] | None = None
    basins: dict[str, Any] | None = None
    lens: dict[str, Any] | None = None
    board: dict[str, Any] | None = None
    matrix: dict[str, Any] | None = None
    behaviour: dict[str, Any] | None = None
    certificates: list[dict[str, Any]] = field(default_factory=list)
    bench: dict[str, Any] | None = None
    conformance: dict[str, Any] | None = None

    def phase_layer(self) -> int:
        """The layer of the phase diagram: ``meta["layer"]`` when swept, else the middle swept layer.

        Raises:
            InvalidParameterError: there is no sweep, or it has no cells.
        """
        if not self.sweep or not self.sweep.get("cells"):
            raise InvalidParameterError("sweep", "a sweep with cells", "none")
        layers = sorted({int(c["layer"]) for c in self.sweep["cells"]})
        wanted = self.meta.get("layer")
        return wanted if isinstance(wanted, int) and wanted in layers else layers[len(layers) // 2]

    def note(self, section: str) -> str:
        """Why ``section`` is missing or where it came from (``meta["notes"]``), else ``""``."""
        notes = self.meta.get("notes", {})
        return str(notes.get(section, "")) if isinstance(notes, dict) else ""

    def set_note(self, section: str, text: str) -> None:
        """Record a provenance or absence note for ``section``."""
        self.meta.setdefault("notes", {})[section] = text

    def files(self) -> dict[str, Any]:
        """``file name -> JSON value`` for every present part."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or (f.name == "certificates" and not value):
                continue
            out[f"{f.name}.json"] = value
        return out

    def write(self, folder: Path) -> list[Path]:
        """Write every present part as ``folder/<part>.json`` (sorted keys, 2-space indent)."""
        folder.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        for name, value in self.files().items():
            path = folder / name
            path.write_text(json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
            written.append(path)
        return written

    @classmethod
    def read(cls, folder: str | Path) -> ReportData:
        """Read the parts present in ``folder`` (an earlier report's ``data/``).

        Raises:
            InvalidParameterError: ``folder`` is not a folder, has no ``meta.json``, or holds a
                file that is not JSON.
        """
        root = Path(folder)
        if not (root / "meta.json").is_file():
            raise InvalidParameterError("from-data", "a report data folder with meta.json", str(root))
        values: dict[str, Any] = {}
        for part in PARTS:
            path = root / f"{part}.json"
            if not path.is_file():
                continue
            try:
                values[part] = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as error:
                raise InvalidParameterError(f"from-data/{part}.json", "a JSON file", str(error)) from None
        return cls(**values)
