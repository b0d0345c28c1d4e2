"""Model parameters a run may set (a persona's): ``temperature``, ``max_tokens`` and the reasoning
effort, and the request fields each API gets for them (``openai_fields``, ``anthropic_fields``: the
adapters send exactly these, and the effective prompt shows them). What a model does not take is left
out, never an error: the reasoning effort goes only to models that have it (``reasoning_effort`` for
OpenAI's reasoning models, a thinking budget for Anthropic's extended-thinking models), and OpenAI's
o-series and GPT-5 get ``max_completion_tokens`` and no ``temperature``, which they refuse."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

EFFORTS = ("minimal", "low", "medium", "high")
# Anthropic has no effort setting: extended thinking takes a token budget (at least 1024).
THINKING_BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 24576}
ANTHROPIC_MAX_TOKENS = 8192  # the Messages API needs a max_tokens; this unless a persona sets one
# Models known to take a reasoning effort, by name (the part after any "vendor/" prefix).
_OPENAI_REASONING = re.compile(r"^(o\d|gpt-5|gpt-oss|codex)", re.I)
_OPENAI_FIXED_SAMPLING = re.compile(r"^(o\d|gpt-5)", re.I)  # no temperature; max_completion_tokens
_ANTHROPIC_THINKING = re.compile(r"^claude-(3-7|(opus|sonnet|haiku)-4|4)", re.I)


@dataclass(frozen=True, slots=True)
class ModelParams:
    temperature: float | None = None
    max_tokens: int | None = None
    reasoning_effort: str | None = None

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> ModelParams:
        """The parameters of a checked persona (``sessions/personas.py``)."""
        return cls(values.get("temperature"), values.get("max_tokens"), values.get("reasoning_effort"))

    def public(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "max_tokens": self.max_tokens,
                "reasoning_effort": self.reasoning_effort}


def _bare(model: str) -> str:
    return model.rsplit("/", 1)[-1]


def openai_fields(model: str, params: ModelParams, default_max_tokens: int | None = None) -> dict[str, Any]:
    """The chat-completions fields for ``params`` on ``model``."""
    bare = _bare(model)
    fixed = _OPENAI_FIXED_SAMPLING.match(bare) is not None
    fields: dict[str, Any] = {}
    max_tokens = params.max_tokens or default_max_tokens
    if max_tokens:
        fields["max_completion_tokens" if fixed else "max_tokens"] = max_tokens
    if params.temperature is not None and not fixed:
        fields["temperature"] = params.temperature
    if params.reasoning_effort and _OPENAI_REASONING.match(bare):
        fields["reasoning_effort"] = params.reasoning_effort
    return fields


def anthropic_fields(
    model: str, params: ModelParams, default_max_tokens: int = ANTHROPIC_MAX_TOKENS, default_budget: int | None = None,
) -> dict[str, Any]:
    """The Messages API fields for ``params`` on ``model``: ``temperature`` at most 1 (the API's
    range); with extended thinking no temperature (the API refuses one) and ``max_tokens`` above the
    thinking budget."""
    max_tokens = params.max_tokens or default_max_tokens
    fields: dict[str, Any] = {"max_tokens": max_tokens}
    budget = default_budget
    if params.reasoning_effort and _ANTHROPIC_THINKING.match(_bare(model)):
        budget = THINKING_BUDGETS.get(params.reasoning_effort, budget)
    if budget:
        fields["thinking"] = {"type": "enabled", "budget_tokens": budget}
        fields["max_tokens"] = max(max_tokens, budget + 1024)
    elif params.temperature is not None:
        fields["temperature"] = min(params.temperature, 1.0)
    return fields


def request_fields(kind: str, model: str, params: ModelParams) -> dict[str, Any]:
    """What a provider of ``kind`` with its default settings sends for ``params`` (the effective prompt)."""
    return anthropic_fields(model, params) if kind == "anthropic" else openai_fields(model, params)
