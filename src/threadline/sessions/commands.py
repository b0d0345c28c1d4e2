"""The slash commands a chat understands (``GET /api/commands``): one list for the server and the
composer, which offers these names and runs each through its handler of the same name
(``static/js/commands.js``; a name it has no handler for is not offered).

``where`` says what carries a command out: ``client`` (the page, through the API) or ``server``.
Every command here is carried out by the page today; a message that starts with ``/`` sent to
``chat/start`` is an ordinary message. ``busy`` marks the commands that act at once while a run is live.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Command:
    name: str
    description: str
    args: str = ""
    aliases: tuple[str, ...] = ()
    busy: bool = False
    where: str = "client"

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data["aliases"] = list(self.aliases)
        data["usage"] = f"/{self.name}" + (f" {self.args}" if self.args else "")
        return data


COMMANDS: tuple[Command, ...] = (
    Command("new", "Start a new chat"),
    Command("clear", "Remove every message in this chat"),
    Command("retry", "A new answer to the last message (the old one is kept)"),
    Command("undo", "Undo the last exchange (it is kept: Restore brings it back)"),
    Command("steer", "Add a message to the running answer, at its next step", "<message>", busy=True),
    Command("queue", "Send a message after the running answer", "<message>", busy=True),
    Command("interrupt", "Stop the running answer and send a message", "<message>", busy=True),
    Command("btw", "Ask a side question; the chat is not changed", "<question>", busy=True),
    Command("background", "Run a task in the background", "<prompt>", busy=True),
    Command("compress", "Summarise the older messages for the model now (they stay here)", "[focus]",
            aliases=("compact",)),
    Command("model", "Switch model, or pick one", "[name]"),
    Command("personality", "Choose this chat’s persona, or edit its instructions", "[name | none]"),
    Command("title", "Rename this chat", "<title>"),
    Command("status", "This chat's model, workspace, messages and token totals"),
    Command("usage", "This chat's token and cost totals"),
    Command("yolo", "Turn approvals off (or on again) for this chat", "[on|off]"),
    Command("help", "Commands and keyboard shortcuts"),
)


def command_list() -> dict[str, Any]:
    return {"commands": [c.public() for c in COMMANDS]}
