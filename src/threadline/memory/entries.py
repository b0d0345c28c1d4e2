"""A memory document as entries: blocks of text separated by a line holding only ``§`` (Hermes'
``ENTRY_DELIMITER``). The agent edits entries, never the raw text: ``add`` appends one, ``replace``
and ``remove`` find the one entry that contains a short piece of its text.

    EntryError(BadRequest)   the edit cannot be made (no match, several, over budget...); the message
                             is written for the model, which reads it as the tool's result
"""

from __future__ import annotations

from dataclasses import dataclass

from threadline.errors import BadRequest

SECTIONS = ("memory", "user")
DELIMITER = "\n§\n"
ACTIONS = ("add", "replace", "remove")


class EntryError(BadRequest):
    pass


def split(content: str) -> list[str]:
    """The entries of a document (a line holding only ``§`` ends one), stripped, empty ones left out."""
    found: list[str] = []
    current: list[str] = []
    for line in content.splitlines():
        if line.strip() == "§":
            found.append("\n".join(current))
            current = []
        else:
            current.append(line)
    found.append("\n".join(current))
    return [entry.strip() for entry in found if entry.strip()]


def join(entries: list[str]) -> str:
    return DELIMITER.join(entries)


@dataclass(frozen=True)
class Edit:
    content: str  # the whole new document
    note: str  # what changed, for the history
    summary: str  # what changed, for the model


def _only_match(entries: list[str], old_text: str) -> int:
    needle = old_text.strip()
    if not needle:
        raise EntryError("old_text is required: a short piece of the entry to change, as it is written")
    found = [i for i, entry in enumerate(entries) if needle in entry]
    if not found:
        raise EntryError(f"no entry contains {needle[:80]!r}; the entries are shown in your instructions")
    if len({entries[i] for i in found}) > 1:
        raise EntryError(f"{len(found)} entries contain {needle[:80]!r}; give a longer piece of the one to change")
    return found[0]


def apply(content: str, action: str, *, text: str = "", old_text: str = "", limit: int) -> Edit:
    """The document after ``action`` (add, replace, remove). Additions and replacements that would
    take it over ``limit`` characters are refused, so the agent consolidates instead."""
    entries = split(content)
    new = text.strip()
    if action == "add":
        if not new:
            raise EntryError("content is required: the entry to add")
        if new in entries:
            return Edit(join(entries), "add (already there)", "That entry is already in memory; nothing changed.")
        entries.append(new)
        note, summary = f"add: {new[:120]}", "Added the entry."
    elif action == "replace":
        if not new:
            raise EntryError("content is required: the entry's new text (use remove to delete it)")
        index = _only_match(entries, old_text)
        entries[index] = new
        note, summary = f"replace: {new[:120]}", "Replaced the entry."
    elif action == "remove":
        index = _only_match(entries, old_text)
        removed = entries.pop(index)
        note, summary = f"remove: {removed[:120]}", "Removed the entry."
    else:
        raise EntryError(f"action must be one of {', '.join(ACTIONS)}")
    result = join(entries)
    if action != "remove" and len(result) > limit and len(result) > len(content.strip()):
        raise EntryError(
            f"memory is full: this would make it {len(result):,} characters, over its {limit:,}-character "
            "budget. Replace or remove entries that matter less (merge related ones), then try again."
        )
    return Edit(result, note, summary)


def within(content: str, budget: int) -> tuple[str, int]:
    """``content`` cut to ``budget`` characters at an entry boundary when there is one; returns the
    text shown and how many characters were left out."""
    text = content.strip()
    if len(text) <= budget:
        return text, 0
    shown: list[str] = []
    used = 0
    for entry in split(text):
        cost = len(entry) + (len(DELIMITER) if shown else 0)
        if used + cost > budget:
            break
        shown.append(entry)
        used += cost
    kept = join(shown) if shown else text[:budget]
    return kept, len(text) - len(kept)
