"""``SKILL.md``: YAML front matter between ``---`` lines (``name``, ``description``, anything else
kept as it is), then the body, the instructions the model follows."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from threadline.errors import BadRequest

SKILL_FILE = "SKILL.md"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_DESCRIPTION = 1024
MAX_SKILL_CHARS = 200_000
_FRONT = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


@dataclass(frozen=True)
class SkillDocument:
    name: str | None
    description: str
    body: str
    meta: dict[str, Any] = field(default_factory=dict)


def check_name(value: object, what: str = "name") -> str:
    """A skill or category name: letters, digits, ``.``, ``_``, ``-``; at most 64; no ``..``."""
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{what} is required")
    value = value.strip()
    if not NAME.match(value) or ".." in value:
        raise BadRequest(f"{what} must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return value


def parse_skill(text: str) -> SkillDocument:
    """The front matter and body of a SKILL.md; ``BadRequest`` saying what is wrong."""
    if len(text) > MAX_SKILL_CHARS:
        raise BadRequest(f"SKILL.md is longer than {MAX_SKILL_CHARS:,} characters")
    match = _FRONT.match(text)
    if match is None:
        raise BadRequest("SKILL.md must start with front matter: a '---' line, 'name:' and 'description:', "
                         "and a closing '---' line")
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise BadRequest(f"the front matter of SKILL.md is not valid YAML: {exc}".splitlines()[0]) from None
    if not isinstance(meta, dict):
        raise BadRequest("the front matter of SKILL.md must be a mapping of 'key: value' lines")
    description = meta.get("description")
    if not isinstance(description, str) or not description.strip():
        raise BadRequest("the front matter of SKILL.md needs a description: what the skill does and when to use it")
    if len(description) > MAX_DESCRIPTION:
        raise BadRequest(f"the description is longer than {MAX_DESCRIPTION} characters")
    name = meta.get("name")
    if name is not None:
        name = check_name(str(name))
    return SkillDocument(name, " ".join(description.split()), text[match.end():].strip(), meta)
