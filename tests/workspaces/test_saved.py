"""Saved workspaces (issue 17 item 2, reference §2.5): Hermes WebUI's paths and shapes, the folders
that are refused, the last workspace used for new sessions, and the jail inside a saved workspace."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx

from tests.support import new_draft
from threadline.settings import Settings


async def workspaces(client: httpx.AsyncClient) -> dict[str, object]:
    response = await client.get("/api/workspaces")
    assert response.status_code == 200
    return dict(response.json())


async def test_add_rename_reorder_remove_with_hermes_shapes(
    client: httpx.AsyncClient, settings: Settings, projects: Path
) -> None:
    assert await workspaces(client) == {"workspaces": [], "last": str(settings.resolved_default_workspace)}
    (projects / "alpha").mkdir()
    added = await client.post("/api/workspaces/add", json={"path": str(projects / "alpha")})
    assert added.status_code == 200, added.text
    assert added.json()["ok"] is True
    assert added.json()["workspaces"] == [{"path": str(projects / "alpha"), "name": "alpha"}]
    made = await client.post("/api/workspaces/add", json={"path": str(projects / "new" / "beta"), "name": " Beta  B ",
                                                          "create": True})
    assert made.status_code == 200, made.text
    assert (projects / "new" / "beta").is_dir()
    assert made.json()["workspaces"][1] == {"path": str(projects / "new" / "beta"), "name": "Beta B"}
    again = await client.post("/api/workspaces/add", json={"path": str(projects / "alpha") + "/"})
    assert again.status_code == 400 and "already" in again.json()["error"]
    renamed = await client.post("/api/workspaces/rename", json={"path": str(projects / "alpha"), "name": "Main"})
    assert renamed.json()["workspaces"][0]["name"] == "Main"
    unknown = await client.post("/api/workspaces/rename", json={"path": str(projects / "nope"), "name": "x"})
    assert unknown.status_code == 404
    reordered = await client.post("/api/workspaces/reorder",
                                  json={"paths": [str(projects / "new" / "beta"), "/not/saved"]})
    assert [w["name"] for w in reordered.json()["workspaces"]] == ["Beta B", "Main"]
    removed = await client.post("/api/workspaces/remove", json={"path": str(projects / "alpha")})
    assert removed.json()["workspaces"] == [{"path": str(projects / "new" / "beta"), "name": "Beta B"}]
    assert (projects / "alpha").is_dir()  # forgotten, not deleted
    idempotent = await client.post("/api/workspaces/remove", json={"path": str(projects / "alpha")})
    assert idempotent.status_code == 200 and len(idempotent.json()["workspaces"]) == 1


async def test_bad_bodies_answer_400_and_change_nothing(client: httpx.AsyncClient, projects: Path) -> None:
    (projects / "kept").mkdir()
    await client.post("/api/workspaces/add", json={"path": str(projects / "kept")})
    before = await workspaces(client)
    for path, body in [
        ("/api/workspaces/add", {}), ("/api/workspaces/add", {"path": 5}), ("/api/workspaces/add", {"path": ""}),
        ("/api/workspaces/add", {"path": str(projects / "x"), "create": "yes"}),
        ("/api/workspaces/add", {"path": str(projects / "kept2"), "name": ["x"]}),
        ("/api/workspaces/remove", {}), ("/api/workspaces/remove", {"path": ""}),
        ("/api/workspaces/rename", {"path": str(projects / "kept")}),
        ("/api/workspaces/rename", {"path": str(projects / "kept"), "name": "   "}),
        ("/api/workspaces/reorder", {}), ("/api/workspaces/reorder", {"paths": []}),
        ("/api/workspaces/reorder", {"paths": "abc"}), ("/api/workspaces/reorder", {"paths": [1, 2]}),
    ]:
        response = await client.post(path, json=body)
        assert 400 <= response.status_code < 500, (path, body, response.text)
        assert "error" in response.json()
    assert await workspaces(client) == before
    assert not (projects / "x").exists()


async def test_system_home_and_state_folders_are_refused(
    client: httpx.AsyncClient, settings: Settings, projects: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink("/etc", projects / "etc-link")
    os.symlink(outside, projects / "out-link")
    (settings.home / "skills").mkdir(exist_ok=True)
    (projects / "file.txt").write_text("x")
    refused = ["/", "/etc", "/usr", "/proc", "/sys", "/dev", "/bin", "/boot", "/usr/lib", str(Path.home()),
               str(settings.home), str(settings.home / "skills"), str(projects / "etc-link"),
               str(projects / "out-link"), str(outside), str(projects / "missing"), str(projects / "file.txt"),
               "relative/dir", str(projects / ".." / "outside"), "a\x00b"]
    for path in refused:
        response = await client.post("/api/workspaces/add", json={"path": path})
        assert response.status_code == 400, (path, response.text)
    created = await client.post("/api/workspaces/add", json={"path": str(outside / "made"), "create": True})
    assert created.status_code == 400 and not (outside / "made").exists()
    via_link = await client.post("/api/workspaces/add", json={"path": str(projects / "out-link" / "x"), "create": True})
    assert via_link.status_code == 400 and not (outside / "x").exists()
    assert (await workspaces(client))["workspaces"] == []
    default = await client.post("/api/workspaces/add", json={"path": str(settings.resolved_default_workspace)})
    assert default.status_code == 200  # the default workspace, inside the state directory, is allowed


async def test_new_sessions_get_the_last_workspace_used(
    client: httpx.AsyncClient, settings: Settings, projects: Path
) -> None:
    (projects / "one").mkdir()
    (projects / "two").mkdir()
    await client.post("/api/workspaces/add", json={"path": str(projects / "one")})
    await client.post("/api/workspaces/add", json={"path": str(projects / "two")})
    plain = (await client.post("/api/session/new", json={})).json()["session"]
    assert plain["workspace"] == str(settings.resolved_default_workspace)
    chosen = (await client.post("/api/session/new", json={"workspace": str(projects / "one")})).json()["session"]
    assert chosen["workspace"] == str(projects / "one")
    assert (await workspaces(client))["last"] == str(projects / "one")
    assert (await client.post("/api/session/new")).json()["session"]["workspace"] == str(projects / "one")
    sid = await new_draft(client)
    updated = await client.post("/api/session/update", json={"session_id": sid, "workspace": str(projects / "two")})
    assert updated.json()["session"]["workspace"] == str(projects / "two")
    assert (await client.post("/api/session/new", json={})).json()["session"]["workspace"] == str(projects / "two")
    os.rmdir(projects / "two")  # the last workspace is gone: back to the default
    assert (await client.post("/api/session/new", json={})).json()["session"]["workspace"] == str(
        settings.resolved_default_workspace)


async def test_suggest_lists_folders_under_the_roots(client: httpx.AsyncClient, projects: Path) -> None:
    for name in ("app", "api", "docs", ".hidden"):
        (projects / name).mkdir()
    (projects / "apple.txt").write_text("x")
    response = await client.get("/api/workspaces/suggest", params={"prefix": str(projects / "ap")})
    assert response.json() == {"suggestions": [str(projects / "api"), str(projects / "app")],
                               "prefix": str(projects / "ap")}
    hidden = (await client.get("/api/workspaces/suggest", params={"prefix": str(projects) + "/.h"})).json()
    assert hidden["suggestions"] == [str(projects / ".hidden")]
    assert (await client.get("/api/workspaces/suggest", params={"prefix": "/et"})).json()["suggestions"] == []
    assert (await client.get("/api/workspaces/suggest", params={"prefix": "relative"})).json()["suggestions"] == []


async def test_concurrent_adds_keep_every_folder(client: httpx.AsyncClient, projects: Path) -> None:
    for i in range(12):
        (projects / f"p{i}").mkdir()
    answers = await asyncio.gather(*(client.post("/api/workspaces/add", json={"path": str(projects / f"p{i}")})
                                     for i in range(12)))
    assert all(a.status_code == 200 for a in answers)
    assert len((await workspaces(client))["workspaces"]) == 12  # type: ignore[arg-type]


async def test_the_jail_holds_in_a_saved_workspace(client: httpx.AsyncClient, projects: Path, tmp_path: Path) -> None:
    ws = projects / "saved"
    (ws / "inner").mkdir(parents=True)
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    (ws / "ok.txt").write_text("fine")
    os.symlink(secret, ws / "out-file")
    os.symlink(tmp_path, ws / "inner" / "out-dir")
    os.symlink("loop-b", ws / "loop-a")
    os.symlink("loop-a", ws / "loop-b")
    os.symlink("..", ws / "inner" / "up")  # a cycle back into the workspace: allowed, stays inside
    await client.post("/api/workspaces/add", json={"path": str(ws)})
    sid = await new_draft(client, workspace=str(ws))
    ok = await client.get("/api/file", params={"session_id": sid, "path": "inner/up/ok.txt"})
    assert ok.status_code == 200 and ok.json()["content"] == "fine"
    for path in ["out-file", "inner/out-dir/secret.txt", "loop-a", "loop-a/x", "../secret.txt",
                 "inner/../../secret.txt", str(secret), "inner/up/../../secret.txt"]:
        read = await client.get("/api/file", params={"session_id": sid, "path": path})
        assert read.status_code in (400, 404), (path, read.text)
        assert "secret" not in read.text.replace("secret.txt", "")
        raw = await client.get("/api/file/raw", params={"session_id": sid, "path": path})
        assert raw.status_code in (400, 404), path
    for path in ["out-file", "inner/out-dir/new.txt", "loop-a", "loop-b/new.txt", "../new.txt",
                 "inner/up/../../new.txt"]:
        write = await client.post("/api/file/create", json={"session_id": sid, "path": path, "content": "x"})
        assert write.status_code in (400, 409), (path, write.text)
        saved = await client.post("/api/file/save", json={"session_id": sid, "path": path, "content": "x"})
        assert saved.status_code in (400, 404), (path, saved.text)
    listing = (await client.get("/api/list", params={"session_id": sid})).json()
    by_name = {e["name"]: e for e in listing["entries"]}
    assert by_name["out-file"].get("broken") and by_name["loop-a"].get("broken")
    assert secret.read_text() == "secret" and sorted(os.listdir(tmp_path / "projects")) == ["saved"]
    assert not (tmp_path / "new.txt").exists() and not (tmp_path / "projects" / "new.txt").exists()


async def test_a_saved_folder_swapped_for_a_link_is_refused(
    client: httpx.AsyncClient, projects: Path, tmp_path: Path
) -> None:
    ws = projects / "swapped"
    ws.mkdir()
    (tmp_path / "elsewhere").mkdir()
    await client.post("/api/workspaces/add", json={"path": str(ws)})
    sid = await new_draft(client, workspace=str(ws))
    ws.rmdir()
    os.symlink(tmp_path / "elsewhere", ws)  # the saved path now leads out of the roots
    refused = await client.post("/api/session/new", json={"workspace": str(ws)})
    assert refused.status_code == 400 and "outside the allowed roots" in refused.json()["error"]
    files = await client.get("/api/list", params={"session_id": sid})
    assert files.status_code == 403  # the draft made before the swap works there no more
    fallback = (await client.post("/api/session/new", json={})).json()["session"]["workspace"]
    assert fallback != str(ws) and not fallback.startswith(str(tmp_path / "elsewhere"))


async def test_a_session_workspace_never_holds_the_state_directory(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """The state directory holds the database and the keys: it cannot be a session's workspace, and
    neither can a folder that holds it, by `session/new` or `session/update`; folders inside it can."""
    home = settings.home
    refused = await client.post("/api/session/new", json={"workspace": str(home)})
    assert refused.status_code == 400 and "state directory" in refused.json()["error"]
    (home / "inside").mkdir()
    session_id = await new_draft(client, workspace=str(home / "inside"))
    before = (await client.get("/api/session", params={"session_id": session_id})).json()["session"]["workspace"]
    moved = await client.post("/api/session/update", json={"session_id": session_id, "workspace": str(home) + "/."})
    assert moved.status_code == 400 and "state directory" in moved.json()["error"]
    after = (await client.get("/api/session", params={"session_id": session_id})).json()["session"]["workspace"]
    assert after == before == str(home / "inside")
