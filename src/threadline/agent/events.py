"""The one event type every provider adapter produces, and the one error it raises.

    ProviderEvent = TextDelta | ReasoningDelta | ToolCallRequest | Usage | TurnEnd

A model turn is a stream of deltas, then the complete tool calls (if any), then ``Usage``, then
``TurnEnd``. Failures raise ``ProviderError`` (an ``UpstreamError``, so the web layer answers 502);
its ``kind`` and ``hint`` become the ``apperror`` event's ``type`` and ``hint``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from threadline.errors import UpstreamError

StopReason = Literal["stop", "tool_calls", "length"]
ErrorKind = Literal[
    "auth",
    "rate_limit",
    "quota_exhausted",
    "model_not_found",
    "connection",
    "stream_cut",
    "bad_request",
    "error",
    "no_response",
]


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of the model's thinking. ``signature`` carries Anthropic's thinking signature,
    which must be sent back with the thinking text when the turn used tools."""

    text: str
    signature: str | None = None


@dataclass(frozen=True, slots=True)
class ToolCallRequest:
    """A complete tool call. ``arguments`` is ``{}`` when ``raw_arguments`` was not a JSON object."""

    id: str
    name: str
    arguments: dict[str, Any]
    raw_arguments: str

    def to_message(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "arguments": self.arguments}


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens)


@dataclass(frozen=True, slots=True)
class TurnEnd:
    stop_reason: StopReason


ProviderEvent = TextDelta | ReasoningDelta | ToolCallRequest | Usage | TurnEnd

DEFAULT_HINTS: dict[str, str] = {
    "auth": "Check the API key for this provider (Settings > Providers, or OPENAI_API_KEY / ANTHROPIC_API_KEY).",
    "rate_limit": "The provider is limiting requests right now; wait a moment and send the message again.",
    "quota_exhausted": "The provider account is out of credit or quota; check its billing page.",
    "model_not_found": "This provider does not serve that model; pick another one in the model menu.",
    "connection": "Could not reach the provider; check that it is running and that its base URL is right.",
    "stream_cut": "The provider stopped in the middle of the answer; send the message again.",
    "bad_request": "The provider rejected the request; try a shorter conversation or another model.",
    "error": "The provider failed to answer; try again in a moment.",
    "no_response": "The model returned an empty answer; try again or pick another model.",
}

# The reference client's ``apperror.type`` vocabulary.
_APPERROR_TYPES: dict[str, str] = {
    "auth": "auth_mismatch",
    "rate_limit": "rate_limit",
    "quota_exhausted": "quota_exhausted",
    "model_not_found": "model_not_found",
    "no_response": "no_response",
}


class ProviderError(UpstreamError):
    """A provider call failed. ``kind`` says how, ``hint`` says what the user can do about it."""

    def __init__(self, kind: ErrorKind, message: str, *, hint: str | None = None, status: int | None = None) -> None:
        self.kind: ErrorKind = kind
        self.hint: str = hint or DEFAULT_HINTS[kind]
        self.status_code = status
        super().__init__(message, type=kind, hint=self.hint)

    @property
    def apperror_type(self) -> str:
        """The ``type`` field of the reference's ``apperror`` event (``auth`` -> ``auth_mismatch``...)."""
        return _APPERROR_TYPES.get(self.kind, "error")

    def __repr__(self) -> str:
        return f"ProviderError({self.kind!r}, {self.message!r})"
