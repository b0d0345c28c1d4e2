"""Workspaces outside the allowed roots are refused by session/new, session/update and session/import
(reference §7 item 23: import used to trust the workspace it was given)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.support import new_draft
from threadline.settings import Settings


def bad_workspaces(home: Path, tmp_path: Path) -> list[str]:
    outside = tmp_path / "outside"
    outside.mkdir(exist_ok=True)
    link = home / "sneaky_link"
    if not link.exists():
        os.symlink(outside, link)  # inside the root by name, outside by target
    (home / "a_file").write_text("x")
    return ["/", "/etc", "/usr/lib", "/proc/self", "/dev", str(outside), str(link), "relative/path", ".",
            str(home / "missing"), str(home / "a_file"), str(home) + "/../outside", "~root", "a\x00b",
            "x" * 5000, str(tmp_path)]


@pytest.mark.parametrize("endpoint", ["new", "update", "import"])
async def test_outside_workspaces_are_refused(
    client: httpx.AsyncClient, settings: Settings, tmp_path: Path, endpoint: str
) -> None:
    home = settings.home
    sid = await new_draft(client)
    for workspace in bad_workspaces(home, tmp_path):
        if endpoint == "new":
            response = await client.post("/api/session/new", json={"workspace": workspace})
        elif endpoint == "update":
            response = await client.post("/api/session/update", json={"session_id": sid, "workspace": workspace})
        else:
            response = await client.post("/api/session/import", json={
                "title": "imported", "workspace": workspace, "messages": [{"role": "user", "content": "hi"}]})
        assert response.status_code == 400, (endpoint, workspace, response.text)
        assert response.json()["error"], workspace
    sessions = (await client.get("/api/sessions")).json()["sessions"]
    assert sessions == []  # nothing was imported
    draft = (await client.get("/api/session", params={"session_id": sid})).json()["session"]
    assert draft["workspace"] == str(settings.resolved_default_workspace)


async def test_inside_workspaces_are_accepted(client: httpx.AsyncClient, settings: Settings) -> None:
    project = settings.home / "projects" / "site"
    project.mkdir(parents=True)
    created = await client.post("/api/session/new", json={"workspace": str(project)})
    assert created.status_code == 200 and created.json()["session"]["workspace"] == str(project)
    sid = created.json()["session"]["session_id"]
    other = settings.home / "projects" / "other"
    other.mkdir()
    updated = await client.post("/api/session/update", json={"session_id": sid, "workspace": str(other)})
    assert updated.status_code == 200 and updated.json()["session"]["workspace"] == str(other)
    imported = await client.post("/api/session/import", json={
        "workspace": str(project) + "/", "messages": [{"role": "user", "content": "hi"}]})
    assert imported.status_code == 200 and imported.json()["session"]["workspace"] == str(project)
