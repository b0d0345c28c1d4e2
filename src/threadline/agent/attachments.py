"""A user message's attachments (files uploaded into the workspace, ``meta.attachments``) as the model
gets them (issue 14 item 4):

- an image (PNG, JPEG, GIF, WebP, up to ``MAX_IMAGE_BYTES``) goes to a vision model as an image part
  (``images`` of the message: OpenAI ``image_url`` data URL, Anthropic ``image`` base64 block); a model
  without vision gets a note in the text instead, and the run warns the user;
- a UTF-8 text file goes as text inside ``<file name="...">`` tags, cut (with a note) to its share of
  ``text_room`` tokens;
- any other file, a missing one or one outside the workspace, gets a note (the tools can still read it).

Runs in a worker thread (it reads files).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from threadline.agent.compaction import cut_to_tokens
from threadline.errors import ThreadlineError
from threadline.workspace.jail import Jail
from threadline.workspace.reading import is_binary, open_raw

IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
MAX_IMAGE_BYTES = 5 * 1024 * 1024  # Anthropic's limit per image
MAX_TEXT_BYTES = 4 * 1024 * 1024


@dataclass
class Expanded:
    messages: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)  # about the newest user message only


def _note(text: str) -> str:
    return f"\n\n[{text}]"


def _one(jail: Jail, name: str, *, vision: bool, model: str, room: int, message: dict[str, Any],
         warnings: list[str] | None) -> None:
    try:
        raw = open_raw(jail, name)
    except ThreadlineError as exc:
        message["content"] += _note(f"The attached file {name} could not be read: {exc.message}")
        return
    with raw.handle:
        if raw.media_type in IMAGE_TYPES:
            if not vision:
                text = (f"The image {name} is attached, but the model {model} cannot see images, so it was not "
                        "sent; say so if the answer depends on it")
                message["content"] += _note(text)
                if warnings is not None:
                    warnings.append(f"{model} cannot see images: {name} was not sent to it (choose a vision model, "
                                    "or mark this one as one in Settings).")
                return
            if raw.stat.st_size > MAX_IMAGE_BYTES:
                message["content"] += _note(f"The image {name} is larger than 5 MB and was not sent")
                if warnings is not None:
                    warnings.append(f"{name} is larger than 5 MB and was not sent to the model.")
                return
            data = raw.handle.read(MAX_IMAGE_BYTES + 1)
            message.setdefault("images", []).append(
                {"name": name, "media_type": raw.media_type, "data": base64.b64encode(data).decode("ascii")})
            return
        data = raw.handle.read(MAX_TEXT_BYTES)
    if is_binary(data[:8192]):
        message["content"] += _note(f"{name} is a binary file ({raw.media_type}); it was not sent, tools can read it")
        return
    text = cut_to_tokens(data.decode("utf-8", "replace"), room, "the rest of the file does not fit the context window")
    message["content"] += f'\n\n<file name="{name}">\n{text}\n</file>'


def expand(history: list[dict[str, Any]], jail: Jail, *, vision: bool, model: str, text_room: int) -> Expanded:
    """``history`` with each user message's attachments added to it (see the module docstring)."""
    last_user = max((i for i, m in enumerate(history) if m.get("role") == "user"), default=-1)
    out = Expanded([])
    for index, message in enumerate(history):
        names = message.get("attachments") if message.get("role") == "user" else None
        if not names or not isinstance(message.get("content"), str):
            out.messages.append(message)
            continue
        copy = {**message}
        room = max(64, text_room // len(names))
        for name in names:
            _one(jail, str(name), vision=vision, model=model, room=room, message=copy,
                 warnings=out.warnings if index == last_user else None)
        out.messages.append(copy)
    return out
