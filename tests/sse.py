"""Parsing server-sent events line by line, for the tests' sync and async stream readers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

TERMINAL = frozenset({"stream_end", "apperror", "cancel"})
Frame = tuple[str, str, dict[str, Any]]  # (id, event, data)


@dataclass
class FrameParser:
    """Feed it lines; it returns a frame at each blank line that ends one."""

    event_id: str = ""
    name: str = ""
    data: list[str] = field(default_factory=list)

    def feed(self, line: str) -> Frame | None:
        if line.startswith("id: "):
            self.event_id = line[4:]
        elif line.startswith("event: "):
            self.name = line[7:]
        elif line.startswith("data: "):
            self.data.append(line[6:])
        elif line == "" and self.name:
            frame = (self.event_id, self.name, json.loads("\n".join(self.data)))
            self.event_id, self.name, self.data = "", "", []
            return frame
        return None


def done(frames: list[Frame], until: set[str] | frozenset[str], limit: int | None) -> bool:
    return frames[-1][1] in until or (limit is not None and len(frames) >= limit)
