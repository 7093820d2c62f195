"""Shared fixtures and the CI rule: under CI=true a missing optional dependency or data file
fails the test instead of skipping it, so oracle and data tests can never silently vanish."""

import os
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
IN_CI = os.environ.get("CI", "").lower() == "true"


def require(module_name):
    """Import an optional test dependency; skip without it (fail under CI=true).

    Call it inside a test, or at module level (``torch = require("torch")``) to skip the
    whole module: never ``import torch`` at the top of a test module, which would stop the
    whole suite from being collected where torch is absent.
    """
    return pytest.importorskip(module_name, reason=f"{module_name} is not installed")


_CI_FAILURE = "CI=true: a skip is a failure here (missing dependency or data): {}"


def shared_data(name):
    """Path of a file in ../shared/data; skip when it is missing (fail under CI=true)."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"{path} is missing")
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and call.excinfo is not None and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = _CI_FAILURE.format(call.excinfo.value)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """The same rule for a module skipped while it is collected (``require`` at module level),
    which pytest_runtest_makereport never sees: under CI=true it is a collection error."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = _CI_FAILURE.format(reason)


@pytest.fixture(autouse=True)
def _strict_floats():
    """Overflow, division by zero and invalid operations raise (underflow stays legitimate)."""
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)
