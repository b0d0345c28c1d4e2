"""The agent: provider adapters, workspace tools, and the loop that runs them (no HTTP here).

from threadline.agent import run_agent, AgentSink, AgentResult, ProviderError
from threadline.agent.providers import ProviderRegistry, ProviderConfig
from threadline.agent.tools import default_tools, ToolContext
"""

from threadline.agent.events import (
    ProviderError,
    ProviderEvent,
    ReasoningDelta,
    TextDelta,
    ToolCallRequest,
    TurnEnd,
    Usage,
)
from threadline.agent.loop import AgentResult, AgentSink, run_agent

__all__ = [
    "AgentResult",
    "AgentSink",
    "ProviderError",
    "ProviderEvent",
    "ReasoningDelta",
    "TextDelta",
    "ToolCallRequest",
    "TurnEnd",
    "Usage",
    "run_agent",
]
