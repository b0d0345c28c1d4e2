"""Request bodies. Unknown keys are ignored, so clients written for Hermes WebUI keep working.

Every body, whatever its fields' types (``Any``, lists, dicts, the extra keys of an import), is
refused with 400 when it holds a lone surrogate or a non-finite number (``threadline.jsonvalues``):
such a value would be stored and then break every response that carries it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from threadline import jsonvalues

SessionId = Field(min_length=1, max_length=64)
MESSAGE_ID_MAX = 2**63 - 1  # message ids are 64-bit integers
UNSTORABLE = "unstorable_value"  # the validation error type web/errors.py answers with 400


def storable(value: Any) -> Any:
    found = jsonvalues.problem(value)
    if found:
        raise PydanticCustomError(UNSTORABLE, found)
    return value


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        return storable(data)


JSONObject = Annotated[dict[str, Any], BeforeValidator(storable)]
"""A free-form JSON object body (``/api/settings``), checked like every ``Body``."""


class SessionCreate(Body):
    workspace: str | None = Field(default=None, max_length=4096)
    model: str | None = Field(default=None, max_length=300)
    profile: str | None = Field(default=None, max_length=100)
    runtime: str | None = Field(default=None, max_length=64)


class SessionRef(Body):
    session_id: str = SessionId


class SessionCompress(SessionRef):
    focus_topic: str | None = Field(default=None, max_length=500)


class SessionRename(SessionRef):
    title: str = Field(max_length=10_000)


class SessionUpdate(SessionRef):
    workspace: str | None = Field(default=None, max_length=4096)
    model: str | None = Field(default=None, max_length=300)
    runtime: str | None = Field(default=None, max_length=64)
    instructions: Any = None  # omitted: unchanged; "" clears them (checked by the service: 400)
    persona: Any = None  # a persona's name; "" clears it (404 for an unknown one)


class SessionPin(SessionRef):
    pinned: bool = True


class SessionArchive(SessionRef):
    archived: bool = True


class SessionMove(SessionRef):
    project_id: str | None = Field(default=None, max_length=64)


class SessionTruncate(SessionRef):
    keep_count: int = Field(ge=0, le=10_000_000)


class SessionBranch(SessionRef):
    message_id: int = Field(ge=1, le=MESSAGE_ID_MAX)
    msg_limit: int | None = Field(default=None, ge=1, le=100_000)


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
    instructions: Any = None  # a string, checked by the service (400 otherwise)


class ProjectRename(Body):
    project_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=1000)
    color: str | None = Field(default=None, max_length=16)
    instructions: Any = None  # omitted: unchanged; "" clears them


class ProjectRef(Body):
    project_id: str = Field(min_length=1, max_length=64)
