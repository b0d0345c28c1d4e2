"""What an agent is sent for a turn: the user's text, the earlier conversation when the agent's own
session does not hold it, and the attached files in the forms the agent accepts.

Whether the agent's session holds the conversation is decided by a fingerprint of the user messages it
was sent (``fingerprint``): a retry, an undo or an edit changes the earlier messages, so the agent is
given a new session and the conversation as Threadline has it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import os
from typing import Any

from acp import image_block, resource_link_block, text_block
from acp.schema import (
    AudioContentBlock,
    EmbeddedResourceContentBlock,
    ImageContentBlock,
    PromptCapabilities,
    ResourceContentBlock,
    TextContentBlock,
    TextResourceContents,
)

from threadline.errors import ThreadlineError
from threadline.workspace import Jail
from threadline.workspace.fileio import open_regular
from threadline.workspace.reading import is_binary

Block = TextContentBlock | ImageContentBlock | AudioContentBlock | ResourceContentBlock | EmbeddedResourceContentBlock

CONTEXT_CHARS = 200_000
TOOL_RESULT_CHARS = 2_000
IMAGE_BYTES = 5 * 1024 * 1024
EMBED_BYTES = 256 * 1024


def fingerprint(history: list[dict[str, Any]]) -> str:
    users = [m.get("content") for m in history if m.get("role") == "user"]
    return hashlib.sha256(json.dumps(users, default=str).encode()).hexdigest()[:32]


def transcript(history: list[dict[str, Any]]) -> str:
    """The earlier conversation as one text, its most recent part when it is long."""
    lines: list[str] = []
    for message in history:
        role, content = message.get("role"), str(message.get("content") or "")
        if role == "user":
            lines.append(f"User: {content}")
        elif role == "assistant":
            calls = ", ".join(str(c.get("name")) for c in message.get("tool_calls") or [])
            if content:
                lines.append(f"Assistant: {content}")
            if calls:
                lines.append(f"Assistant used: {calls}")
        elif role == "tool":
            cut = content if len(content) <= TOOL_RESULT_CHARS else content[:TOOL_RESULT_CHARS] + " [...]"
            lines.append(f"Tool result: {cut}")
    text = "\n\n".join(lines)
    if len(text) > CONTEXT_CHARS:
        text = "[... earlier messages left out ...]\n\n" + text[-CONTEXT_CHARS:]
    return ("The conversation so far took place before this session of yours; it is given here so "
            f"that you can continue it.\n\n<conversation>\n{text}\n</conversation>")


def prompt_blocks(history: list[dict[str, Any]], jail: Jail, capabilities: PromptCapabilities | None,
                  *, with_context: bool) -> list[Block]:
    """The blocks of ``session/prompt``; ``history`` ends with the new user message. Reads files:
    run it on the workspace pool."""
    new = history[-1] if history and history[-1].get("role") == "user" else {"content": ""}
    blocks: list[Block] = []
    if with_context and len(history) > 1:
        blocks.append(text_block(transcript(history[:-1])))
    blocks.append(text_block(str(new.get("content") or "")))
    for name in new.get("attachments") or []:
        block = attachment_block(jail, str(name), capabilities or PromptCapabilities())
        if block is not None:
            blocks.append(block)
    return blocks


def attachment_block(jail: Jail, name: str, capabilities: PromptCapabilities) -> Block | None:
    """A workspace file as an image (if the agent takes images), as embedded text (if it takes
    embedded context and the file is small text), else as a link, which every agent accepts. A name
    outside the workspace, or anything but a regular file, is left out."""
    try:
        path = jail.resolve(name, must_exist=True)
        with open_regular(path, jail.relative(path)) as handle:
            size = os.fstat(handle.fileno()).st_size
            mime = mimetypes.guess_type(path.name)[0]
            if mime and mime.startswith("image/") and capabilities.image and size <= IMAGE_BYTES:
                data = base64.b64encode(handle.read(IMAGE_BYTES)).decode("ascii")
                return image_block(data, mime, uri=path.as_uri())
            if capabilities.embedded_context and size <= EMBED_BYTES:
                raw = handle.read(EMBED_BYTES)
                if not is_binary(raw):
                    resource = TextResourceContents(uri=path.as_uri(), text=raw.decode("utf-8", "replace"),
                                                    mime_type=mime or "text/plain")
                    return EmbeddedResourceContentBlock(type="resource", resource=resource)
    except (ThreadlineError, OSError):
        return None
    return resource_link_block(path.name, path.as_uri(), mime_type=mime, size=size)
