"""Files and media (issue 17 item 3, reference §2.5): /api/media, /api/file/path, the desktop actions
that are refused, the attachment folder of /api/upload, and the archive upload with hostile archives."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.support import new_draft
from threadline.settings import Settings

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def ws(settings: Settings) -> Path:
    return settings.resolved_default_workspace


@pytest.fixture
async def sid(client: httpx.AsyncClient) -> str:
    return await new_draft(client)


async def test_media_serves_images_from_the_workspace_and_state_directory_only(
    client: httpx.AsyncClient, sid: str, ws: Path, settings: Settings, tmp_path: Path
) -> None:
    (ws / "shot.png").write_bytes(PNG)
    (ws / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>")
    (ws / "notes.txt").write_text("text")
    (settings.home / "attachments" / sid).mkdir(parents=True)
    (settings.home / "attachments" / sid / "pic.jpg").write_bytes(b"\xff\xd8\xff" + b"0" * 20)
    outside = tmp_path / "outside.png"
    outside.write_bytes(PNG)
    os.symlink(outside, ws / "link.png")
    os.symlink(settings.home / "providers.json", ws / "keys.png")
    (settings.home / "providers.json").write_text('{"openai": {"api_key": "sk-secret"}}')
    os.link(settings.home / "providers.json", settings.home / "hard.png")
    os.symlink("loop2.png", ws / "loop1.png")
    os.symlink("loop1.png", ws / "loop2.png")

    for query in ({"path": str(ws / "shot.png")}, {"path": str(ws / "shot.png"), "session_id": sid}):
        image = await client.get("/api/media", params=query)
        assert image.status_code == 200 and image.content == PNG
        assert image.headers["content-type"] == "image/png"
        assert image.headers["content-disposition"].startswith("inline")
    svg = await client.get("/api/media", params={"path": str(ws / "logo.svg")})
    assert svg.status_code == 200 and svg.headers["content-disposition"].startswith("attachment")
    state = await client.get("/api/media", params={"path": str(settings.home / "attachments" / sid / "pic.jpg")})
    assert state.status_code == 200 and state.headers["content-type"] == "image/jpeg"
    refused = {
        str(outside): 403, str(ws / "link.png"): 403, str(ws / "loop1.png"): 403, "/etc/passwd": 403,
        str(ws / ".." / ".." / "outside.png"): 403, str(settings.home / "providers.json"): 415,
        str(ws / "keys.png"): 403, str(settings.home / "hard.png"): 403, str(ws / "notes.txt"): 415,
        str(ws / "missing.png"): 404, "shot.png": 400, "": 400,
    }
    for path, status in refused.items():
        answer = await client.get("/api/media", params={"path": path})
        assert answer.status_code == status, (path, answer.text)
        assert "sk-secret" not in answer.text
    other = await client.get("/api/media", params={"path": str(ws / "shot.png"), "session_id": "000000000000"})
    assert other.status_code == 404


async def test_file_path_answers_the_absolute_path(client: httpx.AsyncClient, sid: str, ws: Path) -> None:
    (ws / "src").mkdir()
    (ws / "src" / "main.py").write_text("x")
    found = await client.post("/api/file/path", json={"session_id": sid, "path": "src/main.py"})
    assert found.json() == {"ok": True, "path": str(ws / "src" / "main.py")}
    missing = await client.post("/api/file/path", json={"session_id": sid, "path": "src/not-yet.py"})
    assert missing.json() == {"ok": True, "path": str(ws / "src" / "not-yet.py")}
    for path in ("../x", "/etc/passwd"):
        assert (await client.post("/api/file/path", json={"session_id": sid, "path": path})).status_code == 400
    assert (await client.post("/api/file/path", json={"session_id": sid})).status_code in (400, 422)


@pytest.mark.parametrize("action", ["reveal", "open-vscode"])
async def test_desktop_actions_are_refused_clearly(client: httpx.AsyncClient, sid: str, action: str) -> None:
    answer = await client.post(f"/api/file/{action}", json={"session_id": sid, "path": "a.txt"})
    assert answer.status_code == 403
    assert "desktop" in answer.json()["error"] and answer.json()["unsupported"] == action


async def test_uploads_are_copied_to_an_attachment_folder_deleted_with_the_session(
    client: httpx.AsyncClient, sid: str, ws: Path, settings: Settings
) -> None:
    answer = await client.post("/api/upload", data={"session_id": sid}, files={"file": ("shot.png", PNG, "image/png")})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    folder = settings.attachments_dir / sid
    assert body == {"ok": True, "filename": "shot.png", "path": str(folder / "shot.png"), "workspace_path": "shot.png",
                    "size": len(PNG), "mime": "image/png", "is_image": True}
    assert (folder / "shot.png").read_bytes() == PNG and (ws / "shot.png").read_bytes() == PNG
    shown = await client.get("/api/media", params={"path": body["path"]})
    assert shown.status_code == 200 and shown.content == PNG
    deleted = await client.post("/api/session/delete", json={"session_id": sid})
    assert deleted.status_code == 200
    assert not folder.exists() and (ws / "shot.png").exists()  # the workspace is the user's


def zip_bytes(members: dict[str, bytes], *, link: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link)
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def tar_bytes(members: list[tarfile.TarInfo | tuple[str, bytes]], mode: str = "w:gz") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:  # type: ignore[call-overload]
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                archive.addfile(member)
            else:
                info = tarfile.TarInfo(member[0])
                info.size = len(member[1])
                info.mtime = int(time.time())
                archive.addfile(info, io.BytesIO(member[1]))
    return buffer.getvalue()


def special(name: str, kind: bytes, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


async def archive_upload(client: httpx.AsyncClient, sid: str, name: str, data: bytes, path: str = "") -> httpx.Response:
    return await client.post("/api/workspace/upload", data={"session_id": sid, "path": path},
                             files={"file": (name, data, "application/octet-stream")})


async def test_archives_are_extracted_into_a_new_folder(client: httpx.AsyncClient, sid: str, ws: Path) -> None:
    data = zip_bytes({"site/index.html": b"<h1>hi</h1>", "site/css/app.css": b"body{}", "README": b"read me"})
    answer = await archive_upload(client, sid, "site.zip", data, path="uploads")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body | {"filename": "site.zip", "path": str(ws / "uploads" / "site"), "size": len(data), "is_image": False,
                   "extracted": True, "extracted_count": 3} == body
    assert sorted(body["extracted_files"]) == ["uploads/site/README", "uploads/site/site/css/app.css",
                                               "uploads/site/site/index.html"]
    assert (ws / "uploads" / "site" / "site" / "css" / "app.css").read_bytes() == b"body{}"
    again = await archive_upload(client, sid, "site.zip", data, path="uploads")
    assert again.json()["path"] == str(ws / "uploads" / "site-1")
    tar = tar_bytes([("docs/a.md", b"# a"), ("b.txt", b"b")])
    extracted = await archive_upload(client, sid, "pack.tar.gz", tar)
    assert extracted.status_code == 200 and extracted.json()["extracted_count"] == 2
    assert (ws / "pack" / "docs" / "a.md").read_bytes() == b"# a"
    plain = await archive_upload(client, sid, "notes.txt", b"plain")
    assert plain.json() | {"filename": "notes.txt", "path": str(ws / "notes.txt"), "size": 5, "extracted": False,
                           "is_image": False} == plain.json()
    several = await client.post("/api/workspace/upload", data={"session_id": sid}, files=[
        ("file", ("one.txt", b"1", "text/plain")), ("file", ("two.zip", zip_bytes({"x": b"x"}), "application/zip"))])
    assert several.json()["count"] == 2 and several.json()["files"][1]["extracted_files"] == ["two/x"]


@pytest.mark.parametrize("name,data,status,reason", [
    ("slip.zip", zip_bytes({"../../escape.txt": b"x"}), 400, ".."),
    ("abs.zip", zip_bytes({"/tmp/abs.txt": b"x"}), 400, "absolute"),
    ("drive.zip", zip_bytes({"C:/win.txt": b"x"}), 400, "absolute"),
    ("back.zip", zip_bytes({"a\\..\\..\\b.txt": b"x"}), 400, "backslash"),
    ("link.zip", zip_bytes({"ok.txt": b"x"}, link="evil-link"), 400, "link"),
    ("slip.tar.gz", tar_bytes([("../escape.txt", b"x")]), 400, ".."),
    ("abs.tar", tar_bytes([("/tmp/abs.txt", b"x")], mode="w"), 400, "absolute"),
    ("sym.tgz", tar_bytes([special("evil", tarfile.SYMTYPE, "/etc/passwd")]), 400, "link"),
    ("hard.tar.xz", tar_bytes([special("evil", tarfile.LNKTYPE, "/etc/passwd")], mode="w:xz"), 400, "link"),
    ("dev.tar.bz2", tar_bytes([special("null", tarfile.CHRTYPE)], mode="w:bz2"), 400, "device"),
    ("fifo.tar", tar_bytes([special("pipe", tarfile.FIFOTYPE)], mode="w"), 400, "device"),
    ("dup.tar", tar_bytes([("a.txt", b"1"), ("a.txt", b"2")], mode="w"), 400, "twice"),
    ("deep.zip", zip_bytes({"a/" * 3000 + "x": b"x"}), 400, "longer than"),
    ("file-dir.zip", zip_bytes({"a": b"file", "a/b": b"x"}), 400, "as a folder"),
    ("bad.zip", b"PK\x03\x04 not really a zip", 400, "not a valid archive"),
    ("bad.tar.gz", b"\x1f\x8b\x08\x00 broken", 400, "not a valid archive"),
])
async def test_hostile_archives_are_refused_and_leave_nothing(
    client: httpx.AsyncClient, sid: str, ws: Path, tmp_path: Path, name: str, data: bytes, status: int, reason: str
) -> None:
    before = sorted(os.listdir(ws))
    answer = await archive_upload(client, sid, name, data)
    assert answer.status_code == status, answer.text
    assert reason in answer.json()["error"]
    assert sorted(os.listdir(ws)) == before
    assert not (tmp_path / "escape.txt").exists() and not Path("/tmp/abs.txt").exists()


async def test_bombs_and_member_floods_stop_at_the_limits(
    client: httpx.AsyncClient, sid: str, ws: Path, settings: Settings
) -> None:
    settings.archive_max_file_bytes = limit = 2 * 1024 * 1024  # the app reads its settings at each request
    bomb = zip_bytes({"zeros.bin": b"\0" * (limit + 1)})
    assert len(bomb) < limit // 100  # it compresses to almost nothing
    answer = await archive_upload(client, sid, "bomb.zip", bomb)
    assert answer.status_code == 413 and "larger than" in answer.json()["error"]
    many = zip_bytes({f"part{i}.bin": b"\0" * (limit // 2) for i in range(5)})  # 2.5 x the per-file limit
    settings.archive_max_bytes = limit
    answer = await archive_upload(client, sid, "many.zip", many)
    assert answer.status_code == 413 and "more than" in answer.json()["error"]
    tar_bomb = tar_bytes([("zeros.bin", b"\0" * (limit + 1))])
    assert (await archive_upload(client, sid, "bomb.tgz", tar_bomb)).status_code == 413
    settings.archive_max_members = 50
    flood = zip_bytes({f"f{i}": b"" for i in range(51)})
    answer = await archive_upload(client, sid, "flood.zip", flood)
    assert answer.status_code == 400 and "more than 50 members" in answer.json()["error"]
    tar_flood = tar_bytes([(f"f{i}", b"") for i in range(51)])
    assert (await archive_upload(client, sid, "flood.tgz", tar_flood)).status_code == 400
    assert os.listdir(ws) == []


async def test_archives_never_land_outside_through_a_linked_folder(
    client: httpx.AsyncClient, sid: str, ws: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, ws / "out")
    for path in ("out", "out/deeper", "../outside", str(outside)):
        answer = await archive_upload(client, sid, "a.zip", zip_bytes({"x.txt": b"x"}), path=path)
        assert answer.status_code == 400, (path, answer.text)
    assert os.listdir(outside) == [] and sorted(os.listdir(ws)) == ["out"]
