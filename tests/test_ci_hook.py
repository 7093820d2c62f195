"""The conftest rule: under CI=true a test that would skip for a missing optional dependency or
data file fails instead, so oracle and data tests can never silently vanish."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

CONFTEST = Path(__file__).with_name("conftest.py")

TEST_FILE = '''
from conftest import require, shared_data

def test_needs_a_missing_package():
    require("a_package_that_does_not_exist_anywhere")

def test_needs_a_missing_data_file():
    shared_data("no-such-file.npz")
'''


def _run(tmp_path, ci):
    shutil.copy(CONFTEST, tmp_path / "conftest.py")
    (tmp_path / "test_optional.py").write_text(TEST_FILE)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                          capture_output=True, text=True, env=env, cwd=tmp_path)  # fmt: skip


def test_missing_dependencies_fail_under_ci(tmp_path):
    result = _run(tmp_path, ci=True)
    assert result.returncode == 1, result.stdout
    assert "2 failed" in result.stdout and "a skip is a failure here" in result.stdout


def test_missing_dependencies_skip_elsewhere(tmp_path):
    result = _run(tmp_path, ci=False)
    assert result.returncode == 0, result.stdout
    assert "2 skipped" in result.stdout
