"""Agent Client Protocol: Threadline as an ACP client, so a session can run on any ACP agent.

    AgentConfig, AgentConfigs   the agents a user configured (``runtimes.json``)      config.py
    AcpAgents                   those agents registered as runtimes; list, change, test  agents.py
    AcpRuntime                  a session's turn on its agent                          runtime.py
    AgentProcesses, ProcessLimits  the live agent processes: one per session, idle stop, cap  processes.py
    AgentProcess                one agent program over stdio                           process.py
    Turn                        one prompt, its stream mapped onto the run's sink       turn.py
    ThreadlineClient            what the agent may ask: permissions, files, terminals   client.py

Failures reach the run as ``ProviderError`` (an ``apperror`` with a hint).
"""

from threadline.agent.acp.agents import AcpAgents
from threadline.agent.acp.config import AgentConfig, AgentConfigs
from threadline.agent.acp.processes import AgentProcesses, ProcessLimits
from threadline.agent.acp.runtime import AcpRuntime

__all__ = ["AcpAgents", "AcpRuntime", "AgentConfig", "AgentConfigs", "AgentProcesses", "ProcessLimits"]
