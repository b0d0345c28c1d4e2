"""Memory documents as §-separated entries: what the agent's edits do, and what they refuse."""

from __future__ import annotations

import pytest

from threadline.memory import entries
from threadline.memory.entries import EntryError


def test_split_and_join_keep_multiline_entries() -> None:
    text = "uses vim\nand tmux\n§\nprefers tea\n  §  \nlikes Rust\n"
    assert entries.split(text) == ["uses vim\nand tmux", "prefers tea", "likes Rust"]
    assert entries.join(entries.split(text)) == "uses vim\nand tmux\n§\nprefers tea\n§\nlikes Rust"
    assert entries.split("") == [] and entries.split("\n§\n") == []


def test_add_replace_remove() -> None:
    doc = entries.apply("", "add", text="prefers tea", limit=100).content
    doc = entries.apply(doc, "add", text="works in Berlin", limit=100).content
    assert doc == "prefers tea\n§\nworks in Berlin"
    same = entries.apply(doc, "add", text="prefers tea", limit=100)
    assert same.content == doc and "already" in same.summary
    doc = entries.apply(doc, "replace", old_text="Berlin", text="works in Paris", limit=100).content
    assert doc == "prefers tea\n§\nworks in Paris"
    doc = entries.apply(doc, "remove", old_text="tea", limit=100).content
    assert doc == "works in Paris"


def test_refusals_name_the_problem() -> None:
    doc = "likes tea\n§\nlikes coffee"
    with pytest.raises(EntryError, match="2 entries contain 'likes'"):
        entries.apply(doc, "remove", old_text="likes", limit=100)
    with pytest.raises(EntryError, match="no entry contains 'juice'"):
        entries.apply(doc, "replace", old_text="juice", text="x", limit=100)
    with pytest.raises(EntryError, match="old_text is required"):
        entries.apply(doc, "remove", limit=100)
    with pytest.raises(EntryError, match="content is required"):
        entries.apply(doc, "add", text="  ", limit=100)
    with pytest.raises(EntryError, match="action must be one of"):
        entries.apply(doc, "drop", limit=100)
    with pytest.raises(EntryError, match="memory is full"):
        entries.apply(doc, "add", text="x" * 200, limit=100)


def test_a_document_over_budget_may_still_shrink() -> None:
    """Written whole in the UI, a document can exceed the agent's budget; the agent can still remove
    and shorten entries, never grow it."""
    big = "a" * 80 + "\n§\n" + "b" * 80
    assert entries.apply(big, "remove", old_text="aaa", limit=100).content == "b" * 80
    assert entries.apply(big, "replace", old_text="bbb", text="short", limit=100).content == "a" * 80 + "\n§\nshort"
    with pytest.raises(EntryError, match="memory is full"):
        entries.apply(big, "replace", old_text="bbb", text="c" * 90, limit=100)


def test_within_cuts_at_an_entry_boundary() -> None:
    text = "one\n§\ntwo\n§\nthree"
    assert entries.within(text, 100) == (text, 0)
    shown, cut = entries.within(text, 12)
    assert shown == "one\n§\ntwo" and cut == len(text) - len(shown)
    shown, cut = entries.within("x" * 50, 10)  # one long entry: cut inside it
    assert shown == "x" * 10 and cut == 40
