"""How much a model call may send: the model's context window, whether it sees images, and the
part of the window left for the request once room is kept for the answer.

The window of a model reference is, the first that says: the ``context_windows`` preference (keyed by
``provider/model`` or by the bare model name), what the provider's model listing said
(``providers/limits.py``), the built-in table, else ``THREADLINE_CONTEXT_WINDOW_DEFAULT``. Vision
likewise: the ``vision_models`` preference, the listing, the table, else no.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from threadline.agent.events import ProviderError
from threadline.agent.providers.limits import ModelFacts, from_table
from threadline.agent.providers.registry import ProviderRegistry

RESERVE_MAX = 8_192  # tokens kept for the answer: a quarter of the window, at most this
Source = Literal["setting", "provider", "table", "default"]
Overrides = Callable[[], Awaitable[tuple[dict[str, Any], dict[str, Any]]]]  # (context_windows, vision_models)


@dataclass(frozen=True)
class Limits:
    model: str
    window: int
    vision: bool
    source: Source = "default"

    @property
    def reserve(self) -> int:
        """Tokens kept free for the model's answer."""
        return min(self.window // 4, RESERVE_MAX)

    @property
    def budget(self) -> int:
        """Tokens a request (instructions, tools, messages) may take."""
        return self.window - self.reserve

    def public(self, used: int) -> dict[str, Any]:
        """The gauge's record (``context`` in the session API and the ``context_status`` event)."""
        return {"used": used, "limit": self.window, "budget": self.budget, "model": self.model,
                "source": self.source, "vision": self.vision}


def _lookup(table: dict[str, Any], ref: str, name: str) -> Any:
    return table[ref] if ref in table else table.get(name)


class ModelLimits:
    def __init__(self, providers: ProviderRegistry, *, overrides: Overrides, default_window: int) -> None:
        self.providers = providers
        self._overrides = overrides
        self.default_window = default_window

    def _listed(self, ref: str | None) -> tuple[str, str, ModelFacts]:
        """(full reference, bare name, what the provider's last listing said)."""
        try:
            config, name = self.providers.resolve_config(ref)
        except ProviderError:
            name = (ref or "").partition("/")[2] or (ref or "")
            return ref or name, name, ModelFacts()
        adapter = self.providers.built(config.id)  # only an adapter already built has listed
        facts = getattr(adapter, "facts", {}).get(name) if adapter is not None else None
        return f"{config.id}/{name}", name, facts if isinstance(facts, ModelFacts) else ModelFacts()

    async def of(self, model_ref: str | None) -> Limits:
        ref, name, listed = self._listed(model_ref)
        windows, visions = await self._overrides()
        table = from_table(name)
        source: Source
        window = _lookup(windows, ref, name)
        if isinstance(window, int) and not isinstance(window, bool) and window > 0:
            source = "setting"
        elif listed.window:
            window, source = listed.window, "provider"
        elif table.window:
            window, source = table.window, "table"
        else:
            window, source = self.default_window, "default"
        vision = _lookup(visions, ref, name)
        if not isinstance(vision, bool):
            vision = listed.vision if listed.vision is not None else bool(table.vision)
        return Limits(ref, window, vision, source)
