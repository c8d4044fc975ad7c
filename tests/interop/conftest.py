"""The interop tests run real consumers (llama.cpp) and are never part of normal CI runs.

They are marked ``slow`` (so the root conftest skips them unless selected with ``-m``) and
``interop`` (registered here too, so ``--strict-markers`` accepts the marker even before it is
listed in pyproject.toml). Run them with ``make interop``.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "interop: runs a real external consumer (llama.cpp); `make interop` only")
