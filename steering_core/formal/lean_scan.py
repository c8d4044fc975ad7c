"""Static scan of ``lean4/``: no ``sorry``/``admit``/``axiom``, and every registry theorem exists.

Two formalisations live in ``lean4/``: the Mathlib reference ``lean4/SteeringSpec`` (built with
``lake`` where a Lean toolchain with Mathlib exists, see ``scripts/check_lean.sh``) and the
prelude formalisation ``lean4/Kernel``, which the Lean kernel checks on every CI run
(:mod:`~steering_core.formal.lean_kernel`). This scan runs without any Lean: it guarantees that
nothing in either source could make a check pass vacuously, and that every registry Lean link
names a ``theorem``/``lemma`` declared in *both* (same names).

Comments (``--`` and nested ``/- ... -/``, docstrings included) and string literals are
removed before scanning, so prose may mention the forbidden words; code may not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from steering_core.formal.registry import Registry
from steering_core.resources import data_path

LEAN_DIR = data_path("lean4")
MATHLIB_DIR = LEAN_DIR / "SteeringSpec"
"""The Mathlib reference (built with ``lake`` where it exists); ``lean4/Kernel`` is the prelude
formalisation that the Lean kernel checks in CI (:mod:`~steering_core.formal.lean_kernel`)."""
FORBIDDEN = ("sorry", "admit", "axiom")
_TOKEN = re.compile(r"(?<![A-Za-z0-9_'.])(sorry|admit|axiom)(?![A-Za-z0-9_'])")
_DECL = re.compile(
    r"^\s*(?:@\[[^\]]*\]\s*)?(?:(?:private|protected|noncomputable|nonrec)\s+)*(theorem|lemma)\s+([^\s:({\[]+)",
    re.MULTILINE,
)
_NAMESPACE = re.compile(r"^[ \t]*(namespace|end|section|noncomputable[ \t]+section)\b[ \t]*([^\s]*)", re.MULTILINE)


@dataclass
class ScanResult:
    """What the scan found: forbidden tokens (``file:line: token``) and declared theorem names."""

    violations: list[str] = field(default_factory=list)
    theorems: set[str] = field(default_factory=set)
    files: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No forbidden token was found."""
        return not self.violations


def strip_comments(source: str) -> str:
    """``source`` with comments and string literals blanked (newlines kept, so lines still count)."""
    out: list[str] = []
    i, n, depth = 0, len(source), 0
    while i < n:
        two = source[i : i + 2]
        if depth:
            if two == "/-":
                depth += 1
                i += 2
                continue
            if two == "-/":
                depth -= 1
                i += 2
                continue
            out.append("\n" if source[i] == "\n" else " ")
            i += 1
            continue
        if two == "/-":
            depth = 1
            i += 2
            continue
        if two == "--":
            end = source.find("\n", i)
            i = n if end < 0 else end
            continue
        if source[i] == '"':
            j = i + 1
            while j < n and source[j] != '"':
                j += 2 if source[j] == "\\" else 1
            out.append(" " * (min(j, n - 1) - i + 1))
            i = j + 1
            continue
        out.append(source[i])
        i += 1
    return "".join(out)


def _declared(code: str) -> set[str]:
    """Fully qualified theorem/lemma names, following ``namespace``/``end`` nesting."""
    names: set[str] = set()
    events: list[tuple[int, str, str]] = [(m.start(), m.group(1), m.group(2)) for m in _NAMESPACE.finditer(code)]
    events += [(m.start(), "decl", m.group(2)) for m in _DECL.finditer(code)]
    stack: list[tuple[str, str]] = []  # (kind, name)
    for _, kind, name in sorted(events):
        if kind == "namespace":
            stack.append(("namespace", name))
        elif kind in ("section", "noncomputable section") or kind.startswith("noncomputable"):
            stack.append(("section", name))
        elif kind == "end":
            if stack:
                stack.pop()
        else:
            prefix = ".".join(n for k, n in stack if k == "namespace" and n)
            if name.startswith("_root_."):
                names.add(name[len("_root_.") :])
            else:
                names.add(f"{prefix}.{name}" if prefix else name)
    return names


def scan(lean_dir: Path = LEAN_DIR) -> ScanResult:
    """Scan every ``*.lean`` file under ``lean_dir``."""
    result = ScanResult()
    for path in sorted(lean_dir.rglob("*.lean")):
        result.files.append(path)
        code = strip_comments(path.read_text(encoding="utf-8"))
        for lineno, line in enumerate(code.splitlines(), start=1):
            for match in _TOKEN.finditer(line):
                result.violations.append(f"{path.relative_to(lean_dir.parent)}:{lineno}: {match.group(1)}")
        result.theorems |= _declared(code)
    return result


def missing_theorems(registry: Registry, result: ScanResult) -> list[str]:
    """``property id: theorem`` for every registry Lean link not declared as a theorem/lemma."""
    return [
        f"{prop.id}: {name}"
        for prop in registry.properties
        for name in prop.links["lean"]
        if name not in result.theorems
    ]


def check(registry: Registry, lean_dir: Path = LEAN_DIR) -> list[str]:
    """All problems: forbidden tokens anywhere under ``lean_dir``, then registry theorems missing
    from the Mathlib reference (``<lean_dir>/SteeringSpec``) or from the kernel formalisation
    (``<lean_dir>/Kernel``); when ``lean_dir`` has neither folder, missing from ``lean_dir`` itself.
    Empty list: the scan passes."""
    result = scan(lean_dir)
    problems = [f"forbidden: {v}" for v in result.violations]
    if not result.files:
        problems.append(f"no .lean files under {lean_dir}")
    parts = [(label, lean_dir / folder) for label, folder in (("Mathlib", "SteeringSpec"), ("kernel", "Kernel"))]
    parts = [(label, folder) for label, folder in parts if folder.is_dir()]
    if not parts:
        return problems + [f"missing theorem: {m}" for m in missing_theorems(registry, result)]
    for label, folder in parts:
        problems += [f"missing theorem ({label}): {m}" for m in missing_theorems(registry, scan(folder))]
    return problems


def format_problems(problems: Iterable[str]) -> str:
    """One problem per line."""
    return "\n".join(problems)
