"""The workspace file API (reference §2.5): list, read, raw, save, create, rename, create-dir, delete,
upload, each in the session's workspace."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import make_settings
from tests.security.conftest import client_for
from tests.support import new_draft
from threadline.settings import Settings
from threadline.web.app import create_app
from threadline.workspace.listing import MAX_LIST_ENTRIES
from threadline.workspace.reading import MAX_TEXT_BYTES
from threadline.workspace.writing import upload_name


@pytest.fixture
def ws(settings: Settings) -> Path:
    return settings.resolved_default_workspace


@pytest.fixture
async def sid(client: httpx.AsyncClient) -> str:
    return await new_draft(client)


async def test_list_sorts_folders_first_and_describes_entries(client: httpx.AsyncClient, sid: str, ws: Path) -> None:
    (ws / "b.txt").write_text("bb")
    (ws / "A.md").write_text("a")
    (ws / "zdir").mkdir()
    (ws / "adir" / "inner").mkdir(parents=True)
    os.symlink("b.txt", ws / "link")
    os.symlink("/etc/passwd", ws / "outside")
    response = await client.get("/api/list", params={"session_id": sid})
    assert response.status_code == 200
    body = response.json()
    assert body["path"] == "." and body["truncated"] is False and body["total"] == 6
    names = [e["name"] for e in body["entries"]]
    assert names == ["adir", "zdir", "A.md", "b.txt", "link", "outside"]
    by_name = {e["name"]: e for e in body["entries"]}
    assert by_name["adir"] == by_name["adir"] | {"type": "dir", "is_dir": True, "path": "adir", "size": None}
    assert by_name["b.txt"]["size"] == 2 and by_name["b.txt"]["type"] == "file"
    assert by_name["link"] | {"type": "symlink", "target": "b.txt", "is_dir": False, "size": 2} == by_name["link"]
    assert by_name["outside"]["broken"] is True and "target" not in by_name["outside"]  # never shown
    inner = (await client.get("/api/list", params={"session_id": sid, "path": "adir"})).json()
    assert inner["entries"][0]["path"] == "adir/inner"
    root_again = (await client.get("/api/list", params={"session_id": sid, "path": ""})).json()
    assert root_again["path"] == "."


async def test_list_is_capped(client: httpx.AsyncClient, sid: str, ws: Path) -> None:
    for i in range(MAX_LIST_ENTRIES + 20):
        (ws / f"f{i:04d}").touch()
    body = (await client.get("/api/list", params={"session_id": sid})).json()
    assert len(body["entries"]) == MAX_LIST_ENTRIES and body["truncated"] and body["total"] == MAX_LIST_ENTRIES + 20


async def test_read_text_binary_and_big_files(client: httpx.AsyncClient, sid: str, ws: Path) -> None:
    (ws / "notes.md").write_text("# Title\nline two\n")
    (ws / "image.bin").write_bytes(b"\x89PNG\x00\x01\x02")
    (ws / "latin.txt").write_bytes("caf\xe9".encode("latin-1"))
    (ws / "big.txt").write_bytes(b"x" * (MAX_TEXT_BYTES + 1))
    (ws / "folder").mkdir()
    read = await client.get("/api/file", params={"session_id": sid, "path": "notes.md"})
    assert read.status_code == 200
    assert read.json() | {"path": "notes.md", "content": "# Title\nline two\n", "size": 17, "lines": 3} == read.json()
    binary = await client.get("/api/file", params={"session_id": sid, "path": "image.bin"})
    assert binary.status_code == 415 and binary.json()["binary"] is True
    assert (await client.get("/api/file", params={"session_id": sid, "path": "latin.txt"})).status_code == 415
    big = await client.get("/api/file", params={"session_id": sid, "path": "big.txt"})
    assert big.status_code == 413 and big.json()["size"] == MAX_TEXT_BYTES + 1
    folder = await client.get("/api/file", params={"session_id": sid, "path": "folder"})
    assert folder.status_code == 400 and "folder" in folder.json()["error"]
    missing = await client.get("/api/file", params={"session_id": sid, "path": "nope.txt"})
    assert missing.status_code == 404 and "error" in missing.json()


async def test_raw_downloads_are_typed_and_sandboxed(client: httpx.AsyncClient, sid: str, ws: Path) -> None:
    (ws / "pic.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (ws / "page.html").write_text("<script>alert(1)</script>")
    (ws / "draw.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>")
    (ws / "app.js").write_text("alert(1)")
    (ws / "naïve name.txt").write_text("hi")

    async def raw(path: str, **params: int) -> httpx.Response:
        return await client.get("/api/file/raw", params={"session_id": sid, "path": path, **params})

    png = await raw("pic.png")
    assert png.status_code == 200 and png.content == b"\x89PNG\r\n\x1a\n"
    assert png.headers["content-type"] == "image/png" and png.headers["content-disposition"].startswith("inline")
    for path in ("page.html", "draw.svg"):
        forced = await raw(path)
        assert forced.headers["content-disposition"].startswith("attachment"), path
        shown = await raw(path, inline=1)
        assert shown.headers["content-disposition"].startswith("inline")
        csp = shown.headers["content-security-policy"]
        assert csp.startswith("sandbox;") and "allow-scripts" not in csp and "default-src 'none'" in csp
    script = await raw("app.js")
    assert script.headers["content-type"].startswith("text/plain")  # never runnable as a script
    assert script.headers["x-content-type-options"] == "nosniff"
    download = await raw("pic.png", download=1)
    assert download.headers["content-disposition"].startswith("attachment")
    unicode_name = await raw("naïve name.txt", download=1)
    assert "filename*=utf-8''na%C3%AFve%20name.txt" in unicode_name.headers["content-disposition"]
    assert (await raw("nope.png")).status_code == 404
    assert (await raw(".")).status_code == 400


async def test_create_save_rename_and_delete(client: httpx.AsyncClient, sid: str, ws: Path) -> None:
    async def post(action: str, **body: object) -> httpx.Response:
        return await client.post(f"/api/file/{action}", json={"session_id": sid, **body})

    created = await post("create", path="docs/new/readme.md", content="hello")
    assert created.status_code == 200 and created.json() == {"ok": True, "path": "docs/new/readme.md", "size": 5}
    assert (ws / "docs/new/readme.md").read_text() == "hello"
    assert (await post("create", path="docs/new/readme.md")).status_code == 400
    assert (await post("create", path=".")).status_code in (400, 409)

    (ws / "docs/new/readme.md").chmod(0o640)
    saved = await post("save", path="docs/new/readme.md", content="changed ✓")
    assert saved.status_code == 200 and saved.json()["size"] == len("changed ✓".encode())
    assert (ws / "docs/new/readme.md").read_text() == "changed ✓"
    assert oct((ws / "docs/new/readme.md").stat().st_mode & 0o777) == oct(0o640)
    assert not [p for p in (ws / "docs/new").iterdir() if p.name.startswith(".threadline-")]
    assert (await post("save", path="missing.md", content="x")).status_code == 404
    assert (await post("save", path="docs", content="x")).status_code == 400

    made = await post("create-dir", path="a/b/c")
    assert made.status_code == 200 and (ws / "a/b/c").is_dir()
    assert (await post("create-dir", path="a/b/c")).status_code == 400

    renamed = await post("rename", path="docs/new/readme.md", new_name="README.md")
    assert renamed.json() == {"ok": True, "old_path": "docs/new/readme.md", "new_path": "docs/new/README.md"}
    for bad in ("../x", "a/b", "..", ".", "", "a\\b", "x\x00y"):
        response = await post("rename", path="docs/new/README.md", new_name=bad)
        assert response.status_code == 400, bad
    (ws / "other.md").write_text("o")
    assert (await post("rename", path="other.md", new_name="docs")).status_code == 400
    assert (await post("rename", path=".", new_name="x")).status_code == 400

    assert (await post("delete", path="docs")).status_code == 409  # not empty
    assert (await post("delete", path="a/b/c")).json() == {"ok": True, "path": "a/b/c"}
    assert (await post("delete", path="docs", recursive=True)).status_code == 200
    assert not (ws / "docs").exists()
    assert (await post("delete", path="docs")).status_code == 404
    assert (await post("delete", path=".")).status_code == 400
    assert (await post("delete", path="", recursive=True)).status_code == 400
    assert ws.is_dir()


async def test_symlinks_are_renamed_and_deleted_not_their_targets(
    client: httpx.AsyncClient, sid: str, ws: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    (outside / "keep").mkdir(parents=True)
    (outside / "keep" / "precious.txt").write_text("keep me")
    os.symlink(outside / "keep", ws / "dir_link")
    os.symlink(outside / "keep" / "precious.txt", ws / "file_link")
    body = {"session_id": sid}
    renamed = await client.post("/api/file/rename", json=body | {"path": "file_link", "new_name": "l2"})
    assert renamed.status_code == 200
    assert (await client.post("/api/file/delete", json=body | {"path": "l2"})).status_code == 200
    deleted = await client.post("/api/file/delete", json=body | {"path": "dir_link", "recursive": True})
    assert deleted.status_code == 200
    assert (outside / "keep" / "precious.txt").read_text() == "keep me"
    assert not os.path.lexists(ws / "dir_link") and not os.path.lexists(ws / "l2")


async def test_upload_streams_to_a_sanitized_unique_name(
    client: httpx.AsyncClient, sid: str, ws: Path, settings: Settings
) -> None:
    data = os.urandom(300_000)
    first = await client.post("/api/upload", data={"session_id": sid},
                              files={"file": ("../../evil name<>.bin", data, "application/octet-stream")})
    assert first.status_code == 200, first.text
    copy = str(settings.attachments_dir / sid / "evil name_.bin")
    assert first.json() == {"ok": True, "filename": "evil name_.bin", "path": copy, "workspace_path": "evil name_.bin",
                            "size": 300_000, "mime": "application/octet-stream", "is_image": False}
    assert (ws / "evil name_.bin").read_bytes() == data
    second = await client.post("/api/upload", data={"session_id": sid, "path": "in/here"},
                               files={"file": ("evil name<>.bin", b"x", "application/octet-stream")})
    assert second.json()["workspace_path"] == "in/here/evil name_.bin"
    assert second.json()["path"] == str(settings.attachments_dir / sid / "evil name_-1.bin")
    again = await client.post("/api/upload", data={"session_id": sid, "path": "in/here"},
                              files={"file": ("evil name<>.bin", b"y", "application/octet-stream")})
    assert again.json()["workspace_path"] == "in/here/evil name_-1.bin"
    escape = await client.post("/api/upload", data={"session_id": sid, "path": "../.."},
                               files={"file": ("a.txt", b"x", "text/plain")})
    assert escape.status_code == 400
    no_file = await client.post("/api/upload", data={"session_id": sid})
    assert no_file.status_code == 400 and "error" in no_file.json()
    unknown = await client.post("/api/upload", data={"session_id": "000000000000"},
                                files={"file": ("a.txt", b"x", "text/plain")})
    assert unknown.status_code == 404


def test_upload_names() -> None:
    assert upload_name("C:\\Users\\me\\report (final).pdf") == "report _final_.pdf"
    assert upload_name("..") == "upload"
    assert upload_name("") == "upload"
    assert upload_name(None) == "upload"
    assert upload_name("\x00\x01") == "upload__"
    assert upload_name("ok-name_1.tar.gz") == "ok-name_1.tar.gz"
    assert upload_name(".env") == "env"
    long = upload_name("a" * 500 + ".txt")
    assert len(long) == 200 and long.endswith(".txt")


async def test_upload_over_the_limit_is_413_and_leaves_nothing(home: Path) -> None:
    settings = make_settings(home, max_body_bytes=64 * 1024)
    app = create_app(settings)
    async with app.router.lifespan_context(app), client_for(app) as c:
        sid = await new_draft(c)
        response = await c.post("/api/upload", data={"session_id": sid},
                                files={"file": ("big.bin", b"x" * (100 * 1024), "application/octet-stream")})
        assert response.status_code == 413 and "error" in response.json()

        async def chunks():  # no Content-Length: the limit is enforced while the body streams
            yield b"--b\r\nContent-Disposition: form-data; name=\"session_id\"\r\n\r\n" + sid.encode() + b"\r\n"
            yield b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n\r\n"
            for _ in range(20):
                yield b"y" * 8192
            yield b"\r\n--b--\r\n"

        streamed = await c.post("/api/upload", content=chunks(),
                                headers={"Content-Type": "multipart/form-data; boundary=b"})
        assert streamed.status_code == 413 and "error" in streamed.json()
        assert list(settings.resolved_default_workspace.iterdir()) == []


async def test_unknown_sessions_and_disallowed_workspaces(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    for path, params in (("/api/list", {}), ("/api/file", {"path": "a"}), ("/api/file/raw", {"path": "a"})):
        response = await client.get(path, params={"session_id": "0123456789ab", **params})
        assert response.status_code == 404 and response.json()["error"].startswith("session not found"), path
    assert (await client.get("/api/list", params={"session_id": "../etc"})).status_code in (400, 404)
    # A session whose workspace is outside the allowed roots (say, imported by the operator with
    # trust, or the roots changed since) is refused by the file API.
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    service = app.state.services.sessions
    async with service.store.write() as conn:
        row = await service.create_row(conn, workspace=str(outside), title="Imported")
    response = await client.get("/api/list", params={"session_id": row["id"]})
    assert response.status_code == 403 and "not allowed" in response.json()["error"]
    async with service.store.write() as conn:
        row = await service.create_row(conn, workspace=str(tmp_path / "gone"), title="Gone")
    assert (await client.get("/api/list", params={"session_id": row["id"]})).status_code == 404
