"""A pytest plugin that keeps the test suite out of the checkout (loaded by the root ``conftest.py``).

Tests write only into temporary directories. This plugin makes that hold for the tools the suite
uses and checks it for everything else:

- Hypothesis keeps its files (the example database, the character-map cache) in a temporary
  directory of its own for the run, not in ``.hypothesis/`` under the working directory.
- The pytest cache is off (``-p no:cacheprovider`` in ``pyproject.toml``).
- The files under the rootdir are listed (path, size, modification time) when the session starts
  and again when it ends; a file added, removed or changed in between fails the run, whether git
  ignores it or not. Python's own ``__pycache__`` directories, virtual environments (any directory
  with a ``pyvenv.cfg``), ``*.egg-info`` (an editable install's metadata, rewritten by ``pip install -e``
  while CI's PostgreSQL pass runs), ``.git`` and a ``THREADLINE_TEST_ARTIFACTS`` directory or ``--basetemp``
  the user pointed into the checkout are not looked at.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Collection
from pathlib import Path

import pytest

ARTIFACTS_ENV = "THREADLINE_TEST_ARTIFACTS"
SKIPPED_DIRS = {".git", "__pycache__"}

Snapshot = dict[str, tuple[int, int]]

_snapshot = pytest.StashKey[Snapshot]()
_hypothesis_home = pytest.StashKey[str]()


def excluded_dirs(root: Path, config: pytest.Config) -> set[Path]:
    """Directories inside ``root`` the user chose for the suite's output."""
    chosen = [os.environ.get(ARTIFACTS_ENV), config.getoption("basetemp", None)]
    resolved = {Path(path).resolve() for path in chosen if path}
    return {path for path in resolved if path.is_relative_to(root)}


def snapshot(root: Path, skip: Collection[Path] = ()) -> Snapshot:
    """Every file and symlink under ``root``: relative path -> (size, mtime in ns)."""
    found: Snapshot = {}
    for directory, dirnames, filenames in os.walk(root):
        here = Path(directory)
        dirnames[:] = [
            name for name in dirnames
            if name not in SKIPPED_DIRS and not name.endswith(".egg-info") and here / name not in skip
            and not (here / name / "pyvenv.cfg").exists()
        ]
        for name in filenames + [d for d in dirnames if (here / d).is_symlink()]:
            path = here / name
            try:
                info = path.lstat()
            except FileNotFoundError:  # removed while we walked
                continue
            found[str(path.relative_to(root))] = (info.st_size, info.st_mtime_ns)
    return found


def changes(before: Snapshot, after: Snapshot) -> list[str]:
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(path for path in set(before) & set(after) if before[path] != after[path])
    return [f"added    {p}" for p in added] + [f"removed  {p}" for p in removed] + [f"changed  {p}" for p in changed]


def pytest_configure(config: pytest.Config) -> None:
    if "HYPOTHESIS_STORAGE_DIRECTORY" not in os.environ:
        home = tempfile.mkdtemp(prefix="threadline-hypothesis-")
        config.stash[_hypothesis_home] = home
        os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = home


def pytest_unconfigure(config: pytest.Config) -> None:
    home = config.stash.get(_hypothesis_home, None)
    if home is not None:
        shutil.rmtree(home, ignore_errors=True)
        os.environ.pop("HYPOTHESIS_STORAGE_DIRECTORY", None)


def pytest_sessionstart(session: pytest.Session) -> None:
    root = session.config.rootpath
    session.config.stash[_snapshot] = snapshot(root, excluded_dirs(root, session.config))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = session.config.stash.get(_snapshot, None)
    if before is None:
        return
    root = session.config.rootpath
    found = changes(before, snapshot(root, excluded_dirs(root, session.config)))
    if not found:
        return
    shown = "\n".join(f"  {line}" for line in found[:50])
    more = f"\n  ... and {len(found) - 50} more" if len(found) > 50 else ""
    message = (f"the test run changed the checkout ({root}); tests must write only into temporary "
               f"directories (tmp_path, the artifacts fixture):\n{shown}{more}")
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("=", "checkout changed", red=True)
        reporter.write_line(message)
    else:
        print(message)
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
