"""Import Hermes' memory files (``<HERMES_HOME>/memories/MEMORY.md`` and ``USER.md``): their entries
are added to the shared documents, each once (an entry already there is not added again), as one
revision marked ``import`` that can be undone like any other."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from threadline.memory import entries
from threadline.memory.service import MemoryScope, MemoryService

FILES = {"memory": "MEMORY.md", "user": "USER.md"}
MAX_FILE_BYTES = 1024 * 1024


@dataclass
class MemoryImport:
    added: dict[str, int] = field(default_factory=dict)  # section -> entries added
    failed: list[tuple[str, str]] = field(default_factory=list)


def _read(path: Path) -> str | None:
    if not path.is_file():
        return None
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ValueError(f"larger than {MAX_FILE_BYTES // 1024} KB")
    return path.read_text(encoding="utf-8", errors="replace")


class _Merge:
    """The change that adds the entries not there yet (``MemoryService.edit``); counts them."""

    def __init__(self, incoming: list[str], name: str) -> None:
        self.incoming = incoming
        self.name = name
        self.added = 0

    def __call__(self, current: str) -> tuple[str, str]:
        kept = entries.split(current)
        new = [e for e in self.incoming if e not in kept]
        self.added = len(new)
        return entries.join(kept + new), f"imported {len(new)} entries from Hermes' {self.name}"


async def import_memory_files(memory: MemoryService, folder: Path) -> MemoryImport:
    report = MemoryImport()
    for section, name in FILES.items():
        try:
            text = await asyncio.to_thread(_read, folder / name)
        except (OSError, ValueError) as exc:
            report.failed.append((name, str(exc)))
            continue
        if text is None:
            continue
        merge = _Merge(entries.split(text), name)
        await memory.edit(MemoryScope(), section, merge, source="import")
        report.added[section] = merge.added
    return report
