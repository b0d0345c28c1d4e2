"""The suite leaves the checkout as it found it: ``tests/checkout.py`` fails a run that wrote into its
rootdir, git-ignored files included, and lets writes to temporary directories through. Each test runs
pytest with the plugin in a checkout of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.checkout import ARTIFACTS_ENV

REPO = Path(__file__).resolve().parent.parent

WRITES = '''
from pathlib import Path

def test_writes_a_screenshot_next_to_itself():
    Path("login.png").write_bytes(b"png")

def test_writes_a_cache():
    Path(".hypothesis/examples").mkdir(parents=True)
    (Path(".hypothesis/examples") / "x").write_text("x")

def test_rewrites_a_tracked_file():
    Path("tracked.txt").write_text("rewritten by a test")

def test_writes_into_tmp_path(tmp_path):
    (tmp_path / "fine.txt").write_text("fine")
'''


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A project with the plugin loaded, and a ``.gitignore`` that hides every artifact the tests
    write (the check must not depend on git's view of the tree)."""
    root = tmp_path / "checkout"
    root.mkdir()
    (root / "conftest.py").write_text('pytest_plugins = ["tests.checkout"]\n')
    (root / ".gitignore").write_text("*.png\n.hypothesis/\ntest-artifacts/\n")
    (root / "tracked.txt").write_text("as committed")
    return root


def run_pytest(root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    outer = ("HYPOTHESIS_STORAGE_DIRECTORY", "PYTEST_ADDOPTS", ARTIFACTS_ENV)
    environ = {k: v for k, v in os.environ.items() if k not in outer}
    environ |= {"PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1", **env}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--basetemp", str(root.parent / "base")],
        cwd=root, env=environ, capture_output=True, text=True, timeout=120,
    )


def test_a_run_that_writes_into_the_checkout_fails(checkout: Path) -> None:
    (checkout / "test_writes.py").write_text(WRITES)
    result = run_pytest(checkout)
    assert "4 passed" in result.stdout, result.stdout  # every test passed, yet the run fails
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.stdout
    report = result.stdout.split("the test run changed the checkout", 1)[1]
    assert [line.strip() for line in report.splitlines()[1:4]] == [
        "added    .hypothesis/examples/x",
        "added    login.png",
        "changed  tracked.txt",
    ], result.stdout
    assert "fine.txt" not in result.stdout


def test_a_run_that_writes_only_to_temporary_directories_passes(checkout: Path) -> None:
    (checkout / "test_clean.py").write_text("def test_clean(tmp_path):\n    (tmp_path / 'x.png').write_bytes(b'')\n")
    result = run_pytest(checkout)
    assert result.returncode == pytest.ExitCode.OK, result.stdout
    assert "changed the checkout" not in result.stdout
    assert sorted(p.name for p in checkout.iterdir()) == [".gitignore", "conftest.py", "test_clean.py", "tracked.txt"]


def test_hypothesis_keeps_its_files_out_of_the_checkout(checkout: Path) -> None:
    (checkout / "test_prop.py").write_text(
        "from hypothesis import given, strategies as st\n"
        "@given(st.text(alphabet=st.characters(categories=['L']), min_size=1))\n"
        "def test_letters(s):\n    assert s\n"
    )
    result = run_pytest(checkout)
    assert result.returncode == pytest.ExitCode.OK, result.stdout
    assert not (checkout / ".hypothesis").exists()


def test_the_artifacts_directory_chosen_by_the_user_is_allowed(checkout: Path) -> None:
    (checkout / "test_artifacts.py").write_text(
        "import os, pathlib\n"
        "def test_keeps_a_screenshot():\n"
        "    d = pathlib.Path(os.environ['THREADLINE_TEST_ARTIFACTS'])\n"
        "    d.mkdir()\n"
        "    (d / 'login.png').write_bytes(b'png')\n"
    )
    result = run_pytest(checkout, **{ARTIFACTS_ENV: str(checkout / "test-artifacts")})
    assert result.returncode == pytest.ExitCode.OK, result.stdout
    assert (checkout / "test-artifacts" / "login.png").is_file()
