"""Request bodies. Unknown keys are ignored, so clients written for Hermes WebUI keep working."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SessionId = Field(min_length=1, max_length=64)


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SessionCreate(Body):
    workspace: str | None = Field(default=None, max_length=4096)
    model: str | None = Field(default=None, max_length=300)
    profile: str | None = Field(default=None, max_length=100)
    runtime: str | None = Field(default=None, max_length=64)


class SessionRef(Body):
    session_id: str = SessionId


class SessionRename(SessionRef):
    title: str = Field(max_length=10_000)


class SessionUpdate(SessionRef):
    workspace: str | None = Field(default=None, max_length=4096)
    model: str | None = Field(default=None, max_length=300)
    runtime: str | None = Field(default=None, max_length=64)


class SessionPin(SessionRef):
    pinned: bool = True


class SessionArchive(SessionRef):
    archived: bool = True


class SessionMove(SessionRef):
    project_id: str | None = Field(default=None, max_length=64)


class SessionTruncate(SessionRef):
    keep_count: int = Field(ge=0, le=10_000_000)


class SessionImport(Body):
    model_config = ConfigDict(extra="allow")
    messages: list[Any]
    title: str | None = Field(default=None, max_length=10_000)
    workspace: str | None = Field(default=None, max_length=4096)
    model: str | None = Field(default=None, max_length=300)
    pinned: bool = False
    archived: bool = False


class ProjectCreate(Body):
    name: str = Field(min_length=1, max_length=1000)
    color: str | None = Field(default=None, max_length=16)


class ProjectRename(Body):
    project_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=1000)
    color: str | None = Field(default=None, max_length=16)


class ProjectRef(Body):
    project_id: str = Field(min_length=1, max_length=64)
