"""The ``clarify`` tool's own checks: what it asks, what it refuses, what the model gets back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from threadline.agent.tools.base import ToolContext, validate_args
from threadline.agent.tools.clarify import MAX_CHOICES, NO_ANSWER, Clarify


class Asked:
    def __init__(self, answer: str | None) -> None:
        self.answer = answer
        self.questions: list[tuple[str, list[str]]] = []

    async def __call__(self, question: str, choices: Sequence[str]) -> str | None:
        self.questions.append((question, list(choices)))
        return self.answer


async def run(ctx: ToolContext, asked: Asked | None, **args: Any) -> tuple[str, bool]:
    tool = Clarify()
    assert validate_args(tool.parameters, args) is None
    result = await tool.run(args, replace(ctx, ask_user=asked))
    return result.text, result.is_error


async def test_asks_and_returns_the_answer(ctx: ToolContext) -> None:
    asked = Asked("blue")
    assert await run(ctx, asked, question="  Which colour? ", choices=[" red", "blue", "red", ""]) == ("blue", False)
    assert asked.questions == [("Which colour?", ["red", "blue"])]  # stripped, no repeats, no blanks
    assert await run(ctx, Asked(None), question="Still there?") == (NO_ANSWER, False)


async def test_refusals_go_back_to_the_model(ctx: ToolContext) -> None:
    asked = Asked("x")
    for args in ({"question": " "}, {"question": "q" * 2001}, {"question": "q", "choices": ["a", 3]},
                 {"question": "q", "choices": [f"c{i}" for i in range(MAX_CHOICES + 1)]},
                 {"question": "q", "choices": ["c" * 201]}):
        text, is_error = await run(ctx, asked, **args)
        assert is_error and text.startswith("clarify: "), args
    assert asked.questions == []
    text, is_error = await run(ctx, None, question="Anyone?")
    assert is_error and "nobody can answer" in text
    assert validate_args(Clarify().parameters, {"choices": ["a"]}) is not None  # the question is required
