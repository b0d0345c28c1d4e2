"""A new conversation's title: a provisional one at once (the first line of the first message), then
one a model writes, by default whenever a model is configured (setting ``llm_titles``, overridden by
the preference of the same name), with the ``title_model`` preference or setting when one is set (a
small, cheap model is enough) and the chat's own model otherwise."""

from __future__ import annotations

import asyncio
import logging
import re

from threadline.agent.events import ProviderError, TextDelta
from threadline.agent.providers.base import Provider

log = logging.getLogger("threadline.runs.titles")

TITLE_CHARS = 64
TITLE_TIMEOUT = 10.0
PROMPT = (
    "Write a short title (at most 6 words, no quotes, no final period) for a conversation that starts "
    "with this message. Answer with the title only.\n\nMessage:\n{message}"
)
_CODE_BLOCK = re.compile(r"```.*?(```|$)", re.DOTALL)
_MARKS = re.compile(r"[`*_#>]+")


def provisional_title(text: str) -> str | None:
    """The title until a model writes one: the first line of the first message's prose (code blocks
    and Markdown marks left out), at most 64 characters, cut at a word."""
    lines = [" ".join(_MARKS.sub("", line).split()) for line in _CODE_BLOCK.sub("\n", text).splitlines()]
    first = next((line for line in lines if line), None)
    if first is None:  # nothing but code: its first line
        code = (line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("```"))
        first = next((" ".join(line.split()) for line in code), None)
    if not first:
        return None
    if len(first) <= TITLE_CHARS:
        return first
    cut = first[:TITLE_CHARS].rsplit(" ", 1)[0]
    return (cut or first[:TITLE_CHARS]).rstrip(",.;:") + "…"


def llm_titles_enabled(setting: bool, preference: object) -> bool:
    """The preference, when the user set one, else the setting (on by default)."""
    return setting if preference is None else bool(preference)


def title_model(run_model: str | None, *, setting: str | None, preference: object) -> str | None:
    """The model reference that writes the title: the ``title_model`` preference, the setting, or the
    run's own model."""
    if isinstance(preference, str) and preference.strip():
        return preference.strip()
    return setting or run_model


def clean_llm_title(text: str) -> str | None:
    line = next((x for x in text.strip().splitlines() if x.strip()), "")
    line = line.strip().strip("\"'`*#").removeprefix("Title:").strip().rstrip(".")
    return line[:80] or None


async def llm_title(provider: Provider, model: str, first_message: str) -> str | None:
    """Ask the model for a title; None when it fails or says nothing useful (never raises)."""
    messages = [{"role": "user", "content": PROMPT.format(message=first_message[:2000])}]

    async def ask() -> str:
        parts = []
        async for event in provider.stream(model=model, messages=messages, tools=[]):
            if isinstance(event, TextDelta):
                parts.append(event.text)
        return "".join(parts)

    try:
        return clean_llm_title(await asyncio.wait_for(ask(), TITLE_TIMEOUT))
    except (ProviderError, TimeoutError) as exc:
        log.info("no LLM title: %s", exc)
        return None
