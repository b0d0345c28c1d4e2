"""Memory: two documents the agent keeps across sessions, Hermes' ``MEMORY.md`` / ``USER.md`` model.

    entries.py       the text of a document as entries separated by ``§`` (pure functions)
    service.py       MemoryService: read, write, edit under a row lock, history and undo
    instructions.py  the ``memory`` instruction section: the documents within their budget

``memory`` is what the agent learned, ``user`` what it knows about the user. Each document belongs to an
owner (one today, ``local``; one per user once there are users) and is either the owner's own or a
project's (``project_id``; only the ``memory`` section is kept per project).
"""

from threadline.memory.entries import SECTIONS, EntryError
from threadline.memory.service import MemoryScope, MemoryService

__all__ = ["SECTIONS", "EntryError", "MemoryScope", "MemoryService"]
