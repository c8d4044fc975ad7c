"""Where the package finds its files: package data, and the source checkout when a command needs one.

**Package data.** Every file a command reads at run time ships inside the package, under
``steering_core/data/`` (declared in ``pyproject.toml``, ``[tool.setuptools.package-data]``),
and is found through :mod:`importlib.resources`, so an installed package works from any folder:

* ``properties.toml``, ``properties.schema.json``: the property registry (``steer spec``);
* ``cprr/<id>.json``, ``cprr/conjecture.schema.json``: the conjecture registry (``steer cprr``);
* ``lean4/Kernel``, ``lean4/SteeringSpec``: the Lean sources ``steer spec`` checks and scans;
* ``prompt_sets.json``, ``lenses.json``, ``conformance.toml``: prompt sets, lenses, the
  conformance kit.

That folder is the one copy of these files in the repository; ``spec/README.md`` documents
them. ``steer cprr run`` records evidence into the registry folder it is given
(``--registry DIR``), by default this shipped one (in a checkout: the committed registry).

**The checkout.** A few commands need the source checkout itself, not just the package:
running the property tests under ``tests/`` with pytest, ``scripts/``, ``git``. They call
:func:`require_checkout`, which raises :class:`~steering_core.errors.CheckoutRequiredError`
(the CLI prints one line and exits 2) when the package is installed outside a checkout,
instead of reporting nothing found. Library layer: imports nothing from the tooling layer.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from steering_core.errors import CheckoutRequiredError, DataFileError

_PACKAGE = "steering_core"


def data_dir() -> Path:
    """The package-data folder ``steering_core/data`` as a file-system path.

    Raises:
        DataFileError: the package is not installed as plain files (e.g. imported from a zip).
    """
    root = resources.files(_PACKAGE).joinpath("data")
    if not isinstance(root, Path) or not root.is_dir():
        raise DataFileError(f"package data: {root} is not a folder on disk; reinstall steering-spec from a wheel")
    return root


def data_path(*parts: str) -> Path:
    """The path of ``steering_core/data/<parts...>``, whether or not it exists (for defaults)."""
    return Path(str(resources.files(_PACKAGE).joinpath("data", *parts)))


def require_data(*parts: str) -> Path:
    """The path of the shipped file or folder ``steering_core/data/<parts...>`` (it must exist).

    Raises:
        DataFileError: no such file or folder in the installed package (a broken install).
    """
    path = data_dir().joinpath(*parts)
    if not path.exists():
        raise DataFileError(
            f"package data: {'/'.join(parts)} is missing from {data_dir()} "
            "(a broken install: reinstall steering-spec, e.g. `pip install --force-reinstall .`)"
        )
    return path


def checkout_root() -> Path | None:
    """The source checkout this package runs from, or ``None`` when it is installed elsewhere.

    A checkout is the folder that holds this package *and* its ``pyproject.toml``, ``tests/``
    and ``scripts/`` (an editable install, or running from the repository).
    """
    root = Path(__file__).resolve().parent.parent
    markers = (root / "pyproject.toml", root / "tests", root / "scripts")
    return root if all(m.exists() for m in markers) else None


def require_checkout(what: str) -> Path:
    """The source checkout root, for ``what`` (a command or check that needs it).

    Raises:
        CheckoutRequiredError: the package runs outside a checkout; the message names ``what``
            and how to run it (clone the repository, ``pip install -e .``) or skip it.
    """
    root = checkout_root()
    if root is None:
        raise CheckoutRequiredError(
            f"{what} needs the steering-spec source checkout (tests/, scripts/), but the package is installed "
            f"at {Path(__file__).resolve().parent} outside one; run it from a clone (`pip install -e .`)"
        )
    return root
