"""The versions of a session in its exports, and back in an import.

The JSON export keeps Hermes WebUI's ``messages`` (the active path, in order) and adds ``branches``: every
kept message off the path, each with its ``id`` and ``parent_id`` like the messages of the path, so the
tree can be rebuilt; importing such a file rebuilds it (new ids, the same shape). The Markdown export
writes the active path, then each other version after it, labelled with where it leaves the
conversation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.errors import BadRequest
from threadline.sessions.branches import preview
from threadline.sessions.rows import NewMessage
from threadline.store import tables as t

ROLE_NAMES = {"user": "User", "assistant": "Assistant", "tool": "Tool", "system": "System"}


# -- Markdown ------------------------------------------------------------------------------------


def _describe(message: dict[str, Any], text_of: Callable[[Any], str]) -> str:
    return f"{ROLE_NAMES.get(message['role'], message['role'])}: “{preview(text_of(message.get('content')))}”"


def version_chains(
    session: dict[str, Any], text_of: Callable[[Any], str]
) -> list[tuple[str, list[dict[str, Any]]]]:
    """The messages off the active path as chains, each with a label saying where it leaves the
    conversation: a chain follows one child at each step; the other children start later chains."""
    path = session.get("messages") or []
    rows = session.get("branches") or []
    on_path = {m["id"]: m for m in path}
    by_depth = {m["seq"]: m for m in path}
    kept = {r["id"]: r for r in rows}
    children: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        children.setdefault(row["parent_id"], []).append(row)
    chain_of: dict[Any, int] = {}
    pending = [r for r in rows if r["parent_id"] not in kept]
    chains: list[tuple[str, list[dict[str, Any]]]] = []
    while pending:
        head = pending.pop(0)
        parent = head["parent_id"]
        if parent in kept:
            label = (f"branches from version {chain_of[parent] + 1}, after its message "
                     f"{_describe(kept[parent], text_of)}")
        elif head["seq"] in by_depth and (parent is None or parent in on_path):
            label = f"in place of message {head['seq'] + 1} ({_describe(by_depth[head['seq']], text_of)})"
        else:
            label = f"after message {head['seq']}, the last one above" if head["seq"] else "the first message"
        chain: list[dict[str, Any]] = []
        node: dict[str, Any] | None = head
        while node is not None:
            chain.append(node)
            chain_of[node["id"]] = len(chains)
            following = children.get(node["id"], [])
            pending.extend(following[1:])
            node = following[0] if following else None
        chains.append((label, chain))
    return chains


# -- import --------------------------------------------------------------------------------------


@dataclass
class TreeImport:
    """Messages to write with their depth, the index of their parent and whether they are on the path."""

    messages: list[NewMessage]
    depths: list[int]
    parents: list[int | None]
    path_length: int


def _ref(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{where} must be an integer id or null")
    return value


def parse_tree(raw_messages: Any, raw_branches: Any, parsed: list[NewMessage]) -> TreeImport | None:
    """An import that carries ``branches`` (a Threadline export): the tree its ids describe, checked
    (unique ids, known parents, no cycle, ``messages`` a path from a first message); None without
    branches. ``parsed`` is every item of ``messages`` then ``branches``, already validated."""
    if not raw_branches:
        return None
    if not isinstance(raw_branches, list):
        raise BadRequest("branches must be a list")
    items = [*raw_messages, *raw_branches]
    index: dict[int, int] = {}
    for i, item in enumerate(items):
        key = _ref(item.get("id"), f"the id of message {i}")
        if key is None or key in index:
            raise BadRequest("with branches, every message needs its own integer id")
        index[key] = i
    parents: list[int | None] = []
    for i, item in enumerate(items):
        parent = _ref(item.get("parent_id"), f"the parent_id of message {i}")
        if parent is not None and parent not in index:
            raise BadRequest(f"message {item['id']} follows an unknown message {parent}")
        parents.append(index[parent] if parent is not None else None)
    for i in range(len(raw_messages)):
        if parents[i] != (i - 1 if i else None):
            raise BadRequest("messages must be a path: each one's parent_id the id of the one before")
    depths: list[int] = [-1] * len(items)
    for start in range(len(items)):
        trail, node = [], start
        while depths[node] < 0:
            if node in trail:
                raise BadRequest("the messages' parent_id links form a cycle")
            trail.append(node)
            up = parents[node]
            if up is None:
                depths[node] = 0
                break
            node = up
        for walked in reversed(trail):
            if depths[walked] < 0:
                up = parents[walked]
                depths[walked] = depths[up] + 1 if up is not None else 0
    return TreeImport(parsed, depths, parents, len(raw_messages))


async def insert_tree(
    conn: AsyncConnection, session_id: str, rows: list[dict[str, Any]], parents: list[int | None], path_length: int
) -> None:
    """Write an imported tree: the rows, then their parents (known once the rows have ids), then the
    session's leaf (the last row of the path, its first ``path_length`` rows)."""
    m = t.messages
    ids = list((await conn.execute(insert(m).returning(m.c.id, sort_by_parameter_order=True), rows)).scalars())
    links = [{"row": ids[i], "parent": ids[p]} for i, p in enumerate(parents) if p is not None]
    if links:
        await conn.execute(update(m).where(m.c.id == bindparam("row")).values(parent_id=bindparam("parent")), links)
    leaf = ids[path_length - 1] if path_length else None
    await conn.execute(update(t.sessions).where(t.sessions.c.id == session_id).values(active_leaf_id=leaf))
