"""Skills in the Agent Skills format (Hermes Agent, Claude): a folder holding ``SKILL.md`` (YAML front
matter with ``name`` and ``description``, then the instructions) and any files it refers to.

    documents.py     SKILL.md: parse and check the front matter; names and categories
    library.py       SkillLibrary: the folders under the skills directory, enable/disable, save, delete
    imports.py       copy skill folders in (a Hermes ``skills/`` tree, an uploaded folder)
    instructions.py  the ``skills`` instruction section: each enabled skill's name and description

The model sees the index; the ``skill`` tool loads a skill's body and files when it needs them.
"""

from threadline.skills.documents import SkillDocument, parse_skill
from threadline.skills.library import Skill, SkillLibrary

__all__ = ["Skill", "SkillDocument", "SkillLibrary", "parse_skill"]
