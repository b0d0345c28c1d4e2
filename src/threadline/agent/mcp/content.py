"""An MCP tool result as the text the model and the transcript get.

Text blocks are kept as they are; images and audio become a one-line note (their size and type: the
bytes are not sent to the model for now); a resource link names its URI; an embedded text resource
is included under its URI, a binary one noted. With no content blocks, the structured result is
shown as JSON.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from mcp.types import (
    AudioContent,
    BlobResourceContents,
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
)


def _size(data: str) -> str:
    try:
        count = len(base64.b64decode(data, validate=False))
    except (binascii.Error, ValueError):
        count = len(data) * 3 // 4
    return f"{count / 1024:.1f} KB" if count >= 1024 else f"{count} bytes"


def render_block(block: Any) -> str:
    if isinstance(block, TextContent):
        return block.text
    if isinstance(block, ImageContent):
        return f"[image: {block.mime_type}, {_size(block.data)}; not shown to the model]"
    if isinstance(block, AudioContent):
        return f"[audio: {block.mime_type}, {_size(block.data)}; not shown to the model]"
    if isinstance(block, ResourceLink):
        kind = f", {block.mime_type}" if block.mime_type else ""
        about = f": {block.description}" if block.description else ""
        return f"[resource link: {block.name} <{block.uri}>{kind}]{about}"
    if isinstance(block, EmbeddedResource):
        resource = block.resource
        if isinstance(resource, TextResourceContents):
            return f"[resource <{resource.uri}>]\n{resource.text}"
        if isinstance(resource, BlobResourceContents):
            kind = resource.mime_type or "binary"
            return f"[resource <{resource.uri}>: {kind}, {_size(resource.blob)}; not shown to the model]"
    kind = getattr(block, "type", type(block).__name__)
    return f"[{kind} content; not shown to the model]"


def render_result(result: CallToolResult) -> str:
    parts = [render_block(block) for block in result.content]
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False, indent=2, default=str))
    return "\n".join(parts) if parts else "(no output)"
