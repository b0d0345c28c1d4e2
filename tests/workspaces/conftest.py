"""Fixtures for saved workspaces and the files API: the allowed roots are the state directory and a
``projects`` folder beside it (folders inside the state directory cannot be saved)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import make_settings
from threadline.settings import Settings


@pytest.fixture
def projects(tmp_path: Path) -> Path:
    path = tmp_path / "projects"
    path.mkdir()
    return path


@pytest.fixture
def settings(home: Path, projects: Path) -> Settings:
    return make_settings(home, workspace_roots=[home, projects])
