"""Model parameters a run may set (a persona's): ``temperature``, ``max_tokens`` and the reasoning
effort. Each provider adapter sends what its API and the model take: the reasoning effort only to
models that have it (``reasoning_effort`` for OpenAI's reasoning models, a thinking budget for
Anthropic's extended-thinking models); elsewhere it is left out, never an error."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

EFFORTS = ("minimal", "low", "medium", "high")
# Anthropic has no effort setting: extended thinking takes a token budget (at least 1024).
THINKING_BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 24576}
# Models known to take a reasoning effort, by name (the part after any "vendor/" prefix).
_OPENAI_REASONING = re.compile(r"^(o\d|gpt-5|gpt-oss|codex)", re.I)
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


def openai_effort(model: str, params: ModelParams) -> str | None:
    """The ``reasoning_effort`` to send to an OpenAI-compatible server for ``model``, if any."""
    if params.reasoning_effort and _OPENAI_REASONING.match(_bare(model)):
        return params.reasoning_effort
    return None


def anthropic_budget(model: str, params: ModelParams) -> int | None:
    """The extended-thinking budget for ``model``, if it thinks and an effort is set."""
    if params.reasoning_effort and _ANTHROPIC_THINKING.match(_bare(model)):
        return THINKING_BUDGETS.get(params.reasoning_effort)
    return None


def supports_effort(kind: str, model: str) -> bool:
    """Whether a provider of ``kind`` sends a reasoning effort for ``model`` (the effective prompt
    shows it)."""
    probe = ModelParams(reasoning_effort="low")
    if kind == "anthropic":
        return anthropic_budget(model, probe) is not None
    return openai_effort(model, probe) is not None
