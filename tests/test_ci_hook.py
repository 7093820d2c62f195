"""The conftest rule: under CI=true a test that would skip for a missing optional dependency or
data file fails instead, so oracle and data tests can never silently vanish."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

CONFTEST = Path(__file__).with_name("conftest.py")
REPO = CONFTEST.parents[1]

TEST_FILE = '''
from conftest import require, shared_data

def test_needs_a_missing_package():
    require("a_package_that_does_not_exist_anywhere")

def test_needs_a_missing_data_file():
    shared_data("no-such-file.npz")
'''

MODULE_LEVEL_TEST_FILE = '''
from conftest import require

missing = require("a_package_that_does_not_exist_anywhere")

def test_uses_the_missing_package():
    missing.anything()
'''

HEALTHY_TEST_FILE = '''
def test_needs_nothing():
    pass
'''


def _run(tmp_path, ci, test_file=TEST_FILE):
    shutil.copy(CONFTEST, tmp_path / "conftest.py")
    (tmp_path / "test_optional.py").write_text(test_file)
    (tmp_path / "test_healthy.py").write_text(HEALTHY_TEST_FILE)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)


def test_missing_dependencies_fail_under_ci(tmp_path):
    result = _run(tmp_path, ci=True)
    assert result.returncode == 1, result.stdout
    assert "2 failed, 1 passed" in result.stdout and "a skip is a failure here" in result.stdout


def test_missing_dependencies_skip_elsewhere(tmp_path):
    result = _run(tmp_path, ci=False)
    assert result.returncode == 0, result.stdout
    assert "1 passed, 2 skipped" in result.stdout


def test_a_module_skipped_at_collection_fails_under_ci(tmp_path):
    """pytest_runtest_makereport never sees a module-level skip; the collection hook does."""
    result = _run(tmp_path, ci=True, test_file=MODULE_LEVEL_TEST_FILE)
    assert result.returncode != 0, result.stdout
    assert "1 error" in result.stdout and "a skip is a failure here" in result.stdout
    assert "a_package_that_does_not_exist_anywhere is not installed" in result.stdout


def test_a_module_skipped_at_collection_skips_elsewhere(tmp_path):
    result = _run(tmp_path, ci=False, test_file=MODULE_LEVEL_TEST_FILE)
    assert result.returncode == 0, result.stdout
    assert "1 passed, 1 skipped" in result.stdout


NO_TORCH_PLUGIN = '''
import sys


class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torch":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


sys.meta_path.insert(0, _NoTorch())
'''


def test_the_whole_suite_collects_where_torch_is_absent(tmp_path):
    """No test module imports torch while it is collected (the oracle tests ask for it with
    ``require`` when they run), so a machine without torch runs everything else."""
    (tmp_path / "no_torch.py").write_text(NO_TORCH_PLUGIN)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "pytest", "-q", "--collect-only", "-p", "no_torch",
               "-p", "no:cacheprovider", "tests"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "error" not in result.stdout.splitlines()[-1], result.stdout[-3000:]
