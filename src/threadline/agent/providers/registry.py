"""Which providers exist, how a model reference finds one, and the providers file.

Sources, later ones winning on the same id: the environment (``OPENAI_API_KEY``/``OPENAI_BASE_URL`` ->
``openai``, ``ANTHROPIC_API_KEY``/``ANTHROPIC_BASE_URL`` -> ``anthropic``), an Ollama server found on
its default port (``ollama``, only when ``detect_ollama()`` is called), then the providers file (JSON,
mode 0600, written atomically). A model is named ``"<provider_id>/<model>"``, or bare, in which case
the provider listing it (else the default provider) serves it.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from threadline.agent.events import ProviderError
from threadline.agent.providers.base import DEFAULT_TIMEOUT, Provider

ProviderKind = Literal["openai", "anthropic"]
Source = Literal["env", "file", "auto"]
OLLAMA_URL = "http://127.0.0.1:11434/v1"
OPENAI_URL = "https://api.openai.com/v1"
LIST_MODELS_TIMEOUT = 10.0
CATALOG_TTL_SECONDS = 120.0  # the model catalog is asked again after this, or when providers change


def _import_adapter(kind: ProviderKind) -> None:
    """Import one SDK adapter (the openai package takes about half a second of CPU, anthropic a second)."""
    # The SDKs' HTTP clients run on anyio, which loads its asyncio backend at the first request.
    import anyio._backends._asyncio  # noqa: F401

    if kind == "anthropic":
        import threadline.agent.providers.anthropic  # noqa: F401
    else:
        import threadline.agent.providers.openai_compat  # noqa: F401


@dataclass(frozen=True)
class ProviderConfig:
    id: str
    kind: ProviderKind
    base_url: str | None = None
    api_key: str | None = None
    models: list[str] | None = None  # None: ask the provider
    default_model: str | None = None
    source: Source = "file"

    def __post_init__(self) -> None:
        if not self.id or "/" in self.id or self.id != self.id.strip():
            raise ValueError(f"invalid provider id {self.id!r}: it must be non-empty, without '/' or spaces")
        if self.kind not in ("openai", "anthropic"):
            raise ValueError(f"unknown provider kind {self.kind!r}: expected 'openai' or 'anthropic'")

    @property
    def first_model(self) -> str | None:
        return self.default_model or (self.models[0] if self.models else None)

    @property
    def key_problem(self) -> str | None:
        """Why the API key cannot be sent (it goes in an HTTP header: printable ASCII only), or None.
        Not checked at construction, so a bad key already in the file or the environment makes only
        that provider fail, with this message, instead of the server."""
        key = self.api_key
        if key is None or (key.isascii() and key.isprintable()):
            return None
        return "the API key has characters an HTTP header cannot carry: use printable ASCII characters only"


@dataclass(frozen=True)
class ModelGroup:
    provider_id: str
    kind: str
    models: list[str] = field(default_factory=list)
    default_model: str | None = None
    error: str | None = None


def mask_key(key: str | None) -> str | None:
    """``sk-…abcd``: enough to recognise a key, never enough to use it."""
    if not key:
        return None
    if len(key) < 12:
        return "…"
    return f"{key[:3]}…{key[-4:]}"


def build_provider(config: ProviderConfig, *, timeout: float = DEFAULT_TIMEOUT) -> Provider:
    if config.kind == "anthropic":
        from threadline.agent.providers.anthropic import AnthropicProvider

        return AnthropicProvider(name=config.id, base_url=config.base_url, api_key=config.api_key, timeout=timeout)
    from threadline.agent.providers.openai_compat import OpenAIProvider

    return OpenAIProvider(
        name=config.id, base_url=config.base_url or OPENAI_URL, api_key=config.api_key, timeout=timeout
    )


def configs_from_env(env: Mapping[str, str]) -> list[ProviderConfig]:
    found = []
    if env.get("OPENAI_API_KEY") or env.get("OPENAI_BASE_URL"):
        found.append(
            ProviderConfig(
                "openai",
                "openai",
                env.get("OPENAI_BASE_URL") or OPENAI_URL,
                env.get("OPENAI_API_KEY") or None,
                source="env",
            )
        )
    if env.get("ANTHROPIC_API_KEY"):
        found.append(
            ProviderConfig(
                "anthropic", "anthropic", env.get("ANTHROPIC_BASE_URL") or None, env["ANTHROPIC_API_KEY"], source="env"
            )
        )
    return found


class ProviderRegistry:
    def __init__(
        self,
        configs: list[ProviderConfig] | None = None,
        *,
        path: Path | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        factory: Callable[[ProviderConfig], Provider] | None = None,
    ) -> None:
        self.path = path
        self.timeout = timeout
        self._factory = factory or (lambda c: build_provider(c, timeout=self.timeout))
        self._configs: dict[str, ProviderConfig] = {}
        self._providers: dict[str, Provider] = {}
        self._retired: list[Provider] = []
        self._sdks: dict[ProviderKind, asyncio.Future[None]] = {}
        self._catalog: tuple[float, list[ModelGroup]] | None = None
        for config in configs or []:
            self._configs[config.id] = config

    @classmethod
    def load(
        cls, *, env: Mapping[str, str], path: Path | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> ProviderRegistry:
        """Providers from ``env`` and from the file at ``path`` (if it exists). Reads only that file."""
        registry = cls(configs_from_env(env), path=path, timeout=timeout)
        for config in registry._read_file():
            registry._configs[config.id] = config
        return registry

    async def load_sdks(self, *kinds: ProviderKind) -> None:
        """Import the SDK adapters of ``kinds`` (default: of every configured provider, whose adapters
        are then built) in a worker thread, each once: the event loop never waits on an import or a
        client's set-up (issue 11 item 4), and an SDK no provider uses is never loaded. Every server
        path awaits this before ``get``/``resolve``; the server also starts it in the background a
        moment after start-up."""
        for kind in kinds or {config.kind for config in self._configs.values()}:
            if kind not in self._sdks:
                self._sdks[kind] = asyncio.ensure_future(asyncio.to_thread(_import_adapter, kind))
        for loading in list(self._sdks.values()):
            await asyncio.shield(loading)
        if not kinds:
            await self._build_missing()

    async def _build_missing(self) -> None:
        """Build the adapters not built yet in a worker thread too: an SDK client makes its TLS
        context (reading the CA bundle) when it is made, tens of milliseconds."""
        missing = [config for config in self._configs.values() if config.id not in self._providers]
        if not missing:
            return
        built = await asyncio.to_thread(lambda: [(config, self._factory(config)) for config in missing])
        for config, provider in built:
            if self._configs.get(config.id) is config and config.id not in self._providers:
                self._providers[config.id] = provider
            else:  # the provider changed meanwhile (or another task built it): close this one later
                self._retired.append(provider)

    # -- lookup ---------------------------------------------------------------------------------

    def configs(self) -> list[ProviderConfig]:
        return list(self._configs.values())

    def config(self, provider_id: str) -> ProviderConfig:
        try:
            return self._configs[provider_id]
        except KeyError:
            raise KeyError(f"no provider named {provider_id!r}") from None

    def get(self, provider_id: str) -> Provider:
        """The provider's adapter, built on first use and kept; ``ProviderError`` (auth) when its key
        cannot be sent."""
        config = self.config(provider_id)
        if config.key_problem:
            raise ProviderError("auth", f"provider {provider_id!r}: {config.key_problem}")
        if provider_id not in self._providers:
            self._providers[provider_id] = self._factory(config)
        return self._providers[provider_id]

    def built(self, provider_id: str) -> Provider | None:
        """The provider's adapter if it is built already (never builds one)."""
        return self._providers.get(provider_id)

    @property
    def default_provider_id(self) -> str | None:
        return next(iter(self._configs), None)

    def default_model_ref(self) -> str | None:
        """``"<provider_id>/<model>"`` for the first provider that names a model, else None."""
        for config in self._configs.values():
            if config.first_model:
                return f"{config.id}/{config.first_model}"
        return None

    def resolve(self, model_ref: str | None) -> tuple[Provider, str]:
        """(provider, model name) for ``"<provider_id>/<model>"``, a bare model, or None (the default)."""
        config, model = self.resolve_config(model_ref)
        return self.get(config.id), model

    def resolve_config(self, model_ref: str | None) -> tuple[ProviderConfig, str]:
        """Like ``resolve``, without building the adapter (so without its SDK): checking a model is cheap."""
        if not self._configs:
            raise ProviderError(
                "model_not_found",
                "no provider is configured",
                hint="Set OPENAI_API_KEY or ANTHROPIC_API_KEY, start Ollama, or add a provider in Settings.",
            )
        ref = (model_ref or "").strip() or self.default_model_ref()
        if not ref:
            raise ProviderError(
                "model_not_found",
                "no model was chosen and no provider names a default model",
                hint="Pick a model in the model menu, or set a default model in Settings.",
            )
        prefix, sep, rest = ref.partition("/")
        if sep and rest and prefix in self._configs:
            return self._configs[prefix], rest
        for config in self._configs.values():
            if config.models and ref in config.models:
                return config, ref
        default = self.default_provider_id
        assert default is not None
        return self._configs[default], ref

    async def model_catalog(self, *, fresh: bool = False) -> list[ModelGroup]:
        """Every provider's models, asked concurrently; a failing provider gets ``error``, not an
        exception. Kept for ``CATALOG_TTL_SECONDS`` (``fresh`` asks again); a change of providers
        forgets it."""
        if not fresh and self._catalog is not None and time.monotonic() - self._catalog[0] < CATALOG_TTL_SECONDS:
            return self._catalog[1]
        await self.load_sdks()
        configs = list(self._configs.values())

        async def one(config: ProviderConfig) -> ModelGroup:
            if config.models is not None:
                return ModelGroup(config.id, config.kind, list(config.models), config.first_model)
            try:
                models = await asyncio.wait_for(self.get(config.id).list_models(), LIST_MODELS_TIMEOUT)
            except ProviderError as exc:
                return ModelGroup(config.id, config.kind, [], config.default_model, f"{exc.message}. {exc.hint}")
            except TimeoutError:
                return ModelGroup(config.id, config.kind, [], config.default_model, "listing models timed out")
            return ModelGroup(config.id, config.kind, models, config.default_model)

        catalog = list(await asyncio.gather(*(one(c) for c in configs)))
        if [c.id for c in configs] == list(self._configs):  # no change of providers meanwhile
            self._catalog = (time.monotonic(), catalog)
        return catalog

    async def list_models(self) -> dict[str, list[str]]:
        return {group.provider_id: group.models for group in await self.model_catalog()}

    def public_view(self) -> list[dict[str, Any]]:
        """The configuration as the API shows it: keys masked."""
        view = []
        for config in self._configs.values():
            item = asdict(config)
            item["api_key"] = mask_key(config.api_key)
            item["has_key"] = bool(config.api_key)
            view.append(item)
        return view

    # -- changes --------------------------------------------------------------------------------

    def upsert(self, config: ProviderConfig) -> ProviderConfig:
        """Add or replace a provider in the file. An ``api_key`` of None or in its masked form keeps
        the stored key; ``""`` removes it."""
        previous = self._configs.get(config.id)
        key = config.api_key
        if previous is not None and (key is None or (key and key == mask_key(previous.api_key))):
            key = previous.api_key
        stored = replace(config, api_key=key or None, source="file")
        self._change(lambda configs: configs.__setitem__(config.id, stored))
        self._forget(config.id)
        return stored

    def delete(self, provider_id: str) -> None:
        config = self.config(provider_id)
        if config.source == "env":
            raise ValueError(f"provider {provider_id!r} comes from the environment; unset its variables instead")
        self._change(lambda configs: configs.__delitem__(provider_id), write=config.source == "file")
        self._forget(provider_id)

    async def detect_ollama(self, url: str = OLLAMA_URL, *, timeout: float = 0.5) -> bool:
        """Add an ``ollama`` provider if one answers at ``url``. Never raises. A plain HTTP probe in a
        worker thread (the standard library's client): neither an SDK nor an HTTP client library is
        loaded, and the event loop never waits on the probe."""
        if "ollama" in self._configs:
            return False
        found = await asyncio.to_thread(_answers_models, url.rstrip("/") + "/models", timeout)
        if not found or "ollama" in self._configs:
            return False
        self._configs["ollama"] = ProviderConfig("ollama", "openai", url, None, source="auto")
        self._catalog = None
        return True

    async def aclose(self) -> None:
        providers, self._providers = [*self._providers.values(), *self._retired], {}
        self._retired = []
        for provider in providers:
            await provider.aclose()

    def _change(self, change: Callable[[dict[str, ProviderConfig]], None], *, write: bool = True) -> None:
        """Apply ``change`` to the configurations and write the file; if writing fails (a full disk),
        nothing changes."""
        before = dict(self._configs)
        change(self._configs)
        if not write:
            return
        try:
            self._write_file()
        except BaseException:
            self._configs = before
            raise

    def _forget(self, provider_id: str) -> None:
        # A run may still use the old adapter: close it with the registry, not now.
        self._catalog = None
        provider = self._providers.pop(provider_id, None)
        if provider is not None:
            self._retired.append(provider)

    # -- the file -------------------------------------------------------------------------------

    def _read_file(self) -> list[ProviderConfig]:
        if self.path is None or not self.path.exists():
            return []
        try:
            data = json.loads(self.path.read_text("utf-8"))
            configs = []
            for item in data.get("providers", []):
                fields = {k: item.get(k) for k in ("id", "kind", "base_url", "api_key", "models", "default_model")}
                configs.append(ProviderConfig(**fields, source="file"))
        except (ValueError, TypeError, AttributeError) as exc:
            raise ValueError(f"{self.path} is not a valid providers file: {exc}") from exc
        return configs

    def _write_file(self) -> None:
        if self.path is None:
            return
        keys = ("id", "kind", "base_url", "api_key", "models", "default_model")
        providers = [{k: getattr(c, k) for k in keys} for c in self._configs.values() if c.source == "file"]
        write_private(self.path, json.dumps({"providers": providers}, indent=2) + "\n")


def _answers_models(url: str, timeout: float) -> bool:
    """True when ``GET url`` answers 200 with an OpenAI-style model list (``{"data": [...]}``)."""
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - a local http URL
            data = json.loads(answer.read(1_000_000)) if answer.status == 200 else None
    except (OSError, ValueError):  # refused, timed out, an HTTP error status, not JSON
        return False
    return isinstance(data, dict) and isinstance(data.get("data"), list)


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable by the owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # mkstemp: 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    os.chmod(path, 0o600)
