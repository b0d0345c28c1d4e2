"""``clarify``: the model asks the user a question, with optional choices, and waits for the answer.

The question and the answer are the tool call and its result, so they are stored and shown like any
tool's. The run owns the wait (``RunSink.ask_user``, through ``ToolContext.ask_user``): when nobody
answers in time the model is told to use its best judgement and carry on.
"""

from __future__ import annotations

from typing import Any

from threadline.agent.tools.base import Tool, ToolContext, ToolResult, error

MAX_QUESTION = 2000
MAX_CHOICES = 8
MAX_CHOICE = 200
NO_ANSWER = "No answer: the user did not reply in time. Use your best judgement and carry on."


class Clarify(Tool):
    name = "clarify"
    description = (
        "Ask the user a question and wait for the answer. Use it when the request is ambiguous and a wrong "
        "guess would waste work, not for things you can find out yourself. Offer `choices` when there are a "
        "few clear options; the user may also answer in their own words. If nobody answers in time you are "
        "told so: then use your best judgement."
    )
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "question": {"type": "string", "description": "One clear question for the user."},
            "choices": {
                "type": "array",
                "items": {"type": "string"},
                "maxItems": MAX_CHOICES,
                "description": f"Up to {MAX_CHOICES} short answers to pick from (optional).",
            },
        },
        "required": ["question"],
        "additionalProperties": False,
    }

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        if ctx.ask_user is None:
            return error("clarify: nobody can answer in this run; decide yourself and carry on")
        question = args["question"].strip()
        if not question:
            return error("clarify: the question is empty")
        if len(question) > MAX_QUESTION:
            return error(f"clarify: the question is longer than {MAX_QUESTION} characters; ask a shorter one")
        choices = _choices(args.get("choices"))
        if isinstance(choices, str):
            return error(f"clarify: {choices}")
        answer = await ctx.ask_user(question, choices)
        return ToolResult(NO_ANSWER if answer is None else answer)


def _choices(value: Any) -> list[str] | str:
    """The offered choices, stripped and without repeats, or what is wrong with them."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        return "choices must be a list of strings"
    choices: list[str] = []
    for choice in (c.strip() for c in value):
        if choice and choice not in choices:
            choices.append(choice)
    if len(choices) > MAX_CHOICES:
        return f"offer at most {MAX_CHOICES} choices"
    if any(len(c) > MAX_CHOICE for c in choices):
        return f"each choice must be at most {MAX_CHOICE} characters"
    return choices
