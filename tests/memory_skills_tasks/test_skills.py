"""Skills: the API (Hermes WebUI's paths, files kept inside each skill's folder), enable/disable,
import, and skills in runs (the index in the instructions, the ``skill`` tool, ``skill_save``)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
from fastapi import FastAPI

from tests.llm_server import ScriptedLLM, Turn
from tests.memory_skills_tasks.helpers import new_session, system_of, tool_results, turn


def skill_md(name: str, description: str, body: str = "Do it well.") -> str:
    return f"---\nname: {name}\ndescription: {description}\n---\n\n{body}\n"


async def save(client: httpx.AsyncClient, name: str, description: str, body: str = "Do it well.",
               **extra: str) -> httpx.Response:
    return await client.post("/api/skills/save", json={"name": name, "content": skill_md(name, description, body),
                                                        **extra})


async def test_save_list_read_toggle_delete(client: httpx.AsyncClient, app: FastAPI) -> None:
    r = await save(client, "release-notes", "Write release notes from a git log", category="writing")
    assert r.status_code == 200, r.text
    assert r.json()["skill"] == {**r.json()["skill"], "name": "release-notes", "category": "writing",
                                 "enabled": True, "path": "writing/release-notes", "files": [], "error": None}
    r = await client.post("/api/skills/save", json={"name": "release-notes", "file": "references/style.md",
                                                     "content": "Short lines."})
    assert r.status_code == 200 and r.json()["skill"]["files"] == ["references/style.md"]
    listed = (await client.get("/api/skills")).json()
    assert listed["count"] == 1 and listed["categories"] == ["writing"]
    content = (await client.get("/api/skills/content", params={"name": "release-notes"})).json()
    assert content["body"] == "Do it well." and content["front_matter"]["description"].startswith("Write release")
    assert content["linked_files"] == ["references/style.md"]
    file = (await client.get("/api/skills/content", params={"name": "release-notes", "file": "references/style.md"}))
    assert file.json() == {"name": "release-notes", "file": "references/style.md", "content": "Short lines.",
                           "size": 12}
    folder = Path(app.state.services.settings.resolved_skills_dir) / "writing" / "release-notes"
    assert (folder / "SKILL.md").read_text().startswith("---\nname: release-notes")
    off = await client.post("/api/skills/toggle", json={"name": "release-notes", "enabled": False})
    assert off.status_code == 200 and off.json()["skill"]["enabled"] is False
    assert (await client.get("/api/skills")).json()["skills"][0]["enabled"] is False
    assert (await client.post("/api/skills/delete", json={"name": "release-notes"})).status_code == 200
    assert not folder.exists() and (await client.get("/api/skills")).json()["skills"] == []
    missing = await client.get("/api/skills/content", params={"name": "release-notes"})
    assert missing.status_code == 404


async def test_files_stay_inside_the_skill_folder(client: httpx.AsyncClient, app: FastAPI, tmp_path: Path) -> None:
    await save(client, "alpha", "First skill")
    await save(client, "beta", "Second skill")
    root = Path(app.state.services.settings.resolved_skills_dir)
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    os.symlink(secret, root / "alpha" / "link.txt")
    for file in ("../beta/SKILL.md", "/etc/passwd", "link.txt", "..%2fbeta%2fSKILL.md", "a\\b", str(secret)):
        r = await client.get("/api/skills/content", params={"name": "alpha", "file": file})
        assert r.status_code == 400, (file, r.text)
        assert "top secret" not in r.text
        w = await client.post("/api/skills/save", json={"name": "alpha", "file": file, "content": "x"})
        assert w.status_code == 400, (file, w.text)
    assert secret.read_text() == "top secret"
    assert (root / "beta" / "SKILL.md").read_text().startswith("---\nname: beta")
    for name in ("../beta", "a/b", "..", ".hidden", "x" * 65):
        r = await client.get("/api/skills/content", params={"name": name})
        assert r.status_code == 400, (name, r.text)


async def test_bad_skills_are_refused_and_change_nothing(client: httpx.AsyncClient, app: FastAPI) -> None:
    await save(client, "alpha", "First skill")
    bad = [
        ({"name": "alpha", "content": "no front matter"}, "must start with front matter"),
        ({"name": "alpha", "content": "---\nname: alpha\n---\nbody"}, "needs a description"),
        ({"name": "alpha", "content": "---\nname: [oops\ndescription: x\n---\n"}, "not valid YAML"),
        ({"name": "alpha", "content": skill_md("other", "x")}, "names the skill 'other'"),
        ({"name": "../up", "content": skill_md("x", "y")}, "name must be"),
        ({"name": "alpha", "content": skill_md("alpha", "y"), "category": "../x"}, "category must be"),
        ({"name": "alpha", "content": skill_md("alpha", "d" * 1025)}, "longer than 1024"),
        ({"name": "ghost", "file": "notes.md", "content": "x"}, "skill not found"),
    ]
    for body, message in bad:
        r = await client.post("/api/skills/save", json=body)
        assert r.status_code in (400, 404), (body, r.text)
        assert message in r.json()["error"], (body, r.json())
    root = Path(app.state.services.settings.resolved_skills_dir)
    assert sorted(p.name for p in root.iterdir()) == ["alpha"]
    assert (root / "alpha" / "SKILL.md").read_text() == skill_md("alpha", "First skill")
    assert (await client.post("/api/skills/toggle", json={"name": "ghost", "enabled": False})).status_code == 404
    assert (await client.post("/api/skills/delete", json={"name": "ghost"})).status_code == 404


async def test_a_broken_skill_is_listed_with_its_error_and_never_shown_to_the_model(
    client: httpx.AsyncClient, app: FastAPI,
) -> None:
    root = Path(app.state.services.settings.resolved_skills_dir)
    (root / "broken").mkdir(parents=True)
    (root / "broken" / "SKILL.md").write_text("just text")
    (root / "My Skill").mkdir()
    (root / "My Skill" / "SKILL.md").write_text("---\ndescription: fine\n---\nbody")
    listed = {s["name"]: s for s in (await client.get("/api/skills")).json()["skills"]}
    assert "front matter" in listed["broken"]["error"]
    assert "not a skill name" in listed["My Skill"]["error"]
    assert await app.state.services.skills.enabled() == []


async def test_upload_a_skills_folder(client: httpx.AsyncClient, app: FastAPI) -> None:
    files = [
        ("files", ("a", skill_md("summarize", "Summarize long text").encode(), "text/markdown")),
        ("files", ("b", b"Keep it short.", "text/markdown")),
        ("files", ("c", skill_md("deploy", "Deploy the app").encode(), "text/markdown")),
        ("files", ("d", b"not a skill", "text/plain")),
    ]
    paths = ["skills/writing/summarize/SKILL.md", "skills/writing/summarize/references/tips.md",
             "skills/deploy/SKILL.md", "skills/README.md"]
    r = await client.post("/api/skills/import", files=files, data={"paths": paths})
    assert r.status_code == 200, r.text
    assert sorted(r.json()["imported"]) == ["deploy", "summarize"]
    skills = {s["name"]: s for s in (await client.get("/api/skills")).json()["skills"]}
    assert skills["summarize"]["category"] == "writing" and skills["summarize"]["files"] == ["references/tips.md"]
    again = await client.post("/api/skills/import", files=files[:2], data={"paths": paths[:2]})
    assert again.json()["skipped"] == [{"name": "summarize", "reason": "a skill with this name exists"}]
    escape = await client.post("/api/skills/import", files=files[:1], data={"paths": ["../../evil/SKILL.md"]})
    assert escape.status_code == 400
    root = Path(app.state.services.settings.resolved_skills_dir)
    assert not (root.parent / "evil").exists()
    mismatch = await client.post("/api/skills/import", files=files[:2], data={"paths": paths[:1]})
    assert mismatch.status_code == 400


async def test_enabled_skills_in_the_instructions_and_the_skill_tool(chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    await save(chat, "haiku", "Write a haiku about anything", "Count 5-7-5 syllables. See references/forms.md.")
    await chat.post("/api/skills/save", json={"name": "haiku", "file": "references/forms.md", "content": "Kigo!"})
    await save(chat, "sonnet", "Write a sonnet")
    await chat.post("/api/skills/toggle", json={"name": "sonnet", "enabled": False})
    sid = await new_session(chat)
    llm.script(Turn(tool_calls=[("skill", {"name": "haiku"})]),
               Turn(tool_calls=[("skill", {"name": "haiku", "file": "references/forms.md"})]),
               Turn(tool_calls=[("skill", {"name": "sonnet"})]),
               Turn(text="An old pond..."))
    await turn(chat, sid, "write me a haiku")
    system = system_of(llm.requests[0])
    assert "- haiku: Write a haiku about anything" in system and "sonnet" not in system
    assert "Count 5-7-5 syllables." not in system  # the body comes only when loaded
    results = tool_results(llm.requests[-1])
    assert "Count 5-7-5 syllables." in results[0] and "references/forms.md" in results[0]
    assert results[1].endswith("Kigo!")
    assert "disabled" in results[2]


async def test_the_agent_writes_a_skill_after_approval(chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    sid = await new_session(chat)
    content = skill_md("standup", "Write the daily standup note", "Yesterday, today, blockers.")
    llm.script(Turn(tool_calls=[("skill_save", {"name": "standup", "content": content})]), Turn(text="Saved."))
    events = await turn(chat, sid, "make a skill for standups", approve="deny")
    assert "approval" in events and (await chat.get("/api/skills")).json()["skills"] == []
    llm.script(Turn(tool_calls=[("skill_save", {"name": "standup", "content": content})]), Turn(text="Saved."))
    await turn(chat, sid, "make a skill for standups", approve="once")
    assert [s["name"] for s in (await chat.get("/api/skills")).json()["skills"]] == ["standup"]
    assert "Saved the skill standup." in tool_results(llm.requests[-1])[-1]
    llm.script(Turn(text="ok"))
    await turn(chat, sid, "thanks")
    assert "- standup: Write the daily standup note" in system_of(llm.requests[-1])
