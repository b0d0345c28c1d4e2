"""Provider configuration: env, the providers file, masking, model references, listing, Ollama probe."""

from __future__ import annotations

import json
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.agent.conftest import closed_port
from tests.llm_server import ScriptedLLM
from threadline.agent.events import ProviderError
from threadline.agent.providers import (
    AnthropicProvider,
    OpenAIProvider,
    ProviderConfig,
    ProviderRegistry,
    mask_key,
)

KEY = "sk-proj-0123456789abcdefWXYZ"


@pytest.fixture
async def registry(tmp_path: Path) -> AsyncIterator[ProviderRegistry]:
    env = {"OPENAI_API_KEY": KEY, "ANTHROPIC_API_KEY": "sk-ant-api03-secretsecret9876", "UNRELATED": "x"}
    reg = ProviderRegistry.load(env=env, path=tmp_path / "state" / "providers.json")
    yield reg
    await reg.aclose()


def test_from_env(registry: ProviderRegistry) -> None:
    openai_cfg, anthropic_cfg = registry.configs()
    assert (openai_cfg.id, openai_cfg.kind, openai_cfg.base_url, openai_cfg.source) == (
        "openai",
        "openai",
        "https://api.openai.com/v1",
        "env",
    )
    assert anthropic_cfg.kind == "anthropic" and anthropic_cfg.base_url is None
    assert isinstance(registry.get("openai"), OpenAIProvider)
    assert isinstance(registry.get("anthropic"), AnthropicProvider)
    assert registry.get("openai") is registry.get("openai")
    with pytest.raises(KeyError):
        registry.get("nope")


def test_env_base_url_without_key() -> None:
    reg = ProviderRegistry.load(env={"OPENAI_BASE_URL": "http://127.0.0.1:8080/v1"})
    (config,) = reg.configs()
    assert config.base_url == "http://127.0.0.1:8080/v1" and config.api_key is None
    assert ProviderRegistry.load(env={}).configs() == []


@pytest.mark.parametrize(
    ("key", "masked"),
    [(KEY, "sk-…WXYZ"), ("short-key", "…"), (None, None), ("", None)],
)
def test_mask_key(key: str | None, masked: str | None) -> None:
    assert mask_key(key) == masked


def test_public_view_never_shows_a_key(registry: ProviderRegistry) -> None:
    view = registry.public_view()
    assert view[0]["api_key"] == "sk-…WXYZ" and view[0]["has_key"] is True
    assert KEY not in json.dumps(view) and "secretsecret" not in json.dumps(view)


def test_upsert_persists_privately(registry: ProviderRegistry, tmp_path: Path) -> None:
    path = tmp_path / "state" / "providers.json"
    registry.upsert(
        ProviderConfig(
            "local", "openai", "http://127.0.0.1:1234/v1", "lm-key-1234567890", models=["qwen"], default_model="qwen"
        )
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(path.read_text())["providers"]
    assert [p["id"] for p in stored] == ["local"]  # env providers are not copied into the file
    assert stored[0]["api_key"] == "lm-key-1234567890"
    assert list(path.parent.glob(".providers.json.*")) == []  # no temp file left behind
    again = ProviderRegistry.load(env={}, path=path)
    assert again.configs() == [
        ProviderConfig("local", "openai", "http://127.0.0.1:1234/v1", "lm-key-1234567890", ["qwen"], "qwen", "file")
    ]


def test_masked_key_round_trip_keeps_the_key(registry: ProviderRegistry) -> None:
    registry.upsert(ProviderConfig("local", "openai", "http://h/v1", "lm-key-1234567890"))
    masked = registry.public_view()[-1]["api_key"]
    registry.upsert(ProviderConfig("local", "openai", "http://other/v1", masked))
    assert registry.config("local").api_key == "lm-key-1234567890"
    assert registry.config("local").base_url == "http://other/v1"
    registry.upsert(ProviderConfig("local", "openai", "http://other/v1", None))
    assert registry.config("local").api_key == "lm-key-1234567890"
    registry.upsert(ProviderConfig("local", "openai", "http://other/v1", ""))
    assert registry.config("local").api_key is None


def test_file_overrides_env_and_delete(registry: ProviderRegistry, tmp_path: Path) -> None:
    old = registry.get("openai")
    registry.upsert(ProviderConfig("openai", "openai", "http://proxy/v1", "sk-other-key-0000"))
    assert registry.config("openai").source == "file"
    assert registry.get("openai") is not old
    reloaded = ProviderRegistry.load(env={"OPENAI_API_KEY": KEY}, path=tmp_path / "state" / "providers.json")
    assert reloaded.config("openai").base_url == "http://proxy/v1"
    with pytest.raises(ValueError, match="environment"):
        registry.delete("anthropic")
    registry.delete("openai")
    assert [c.id for c in registry.configs()] == ["anthropic"]
    assert json.loads((tmp_path / "state" / "providers.json").read_text()) == {"providers": []}


def test_invalid_configs(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        ProviderConfig("a/b", "openai")
    with pytest.raises(ValueError):
        ProviderConfig("x", "gemini")  # type: ignore[arg-type]
    bad = tmp_path / "providers.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not a valid providers file"):
        ProviderRegistry.load(env={}, path=bad)


def test_resolve(registry: ProviderRegistry) -> None:
    registry.upsert(ProviderConfig("router", "openai", "http://r/v1", "k", models=["meta/llama-3"]))
    provider, model = registry.resolve("anthropic/claude-sonnet-4")
    assert (provider.name, model) == ("anthropic", "claude-sonnet-4")
    provider, model = registry.resolve("router/openai/gpt-4o")  # only the first '/' separates
    assert (provider.name, model) == ("router", "openai/gpt-4o")
    provider, model = registry.resolve("meta/llama-3")  # listed by a provider
    assert (provider.name, model) == ("router", "meta/llama-3")
    provider, model = registry.resolve("gpt-4o")  # bare: the default (first) provider
    assert (provider.name, model) == ("openai", "gpt-4o")
    provider, model = registry.resolve(None)  # the first provider that names a default model
    assert (provider.name, model) == ("router", "meta/llama-3")


def test_resolve_without_providers() -> None:
    with pytest.raises(ProviderError) as info:
        ProviderRegistry().resolve("gpt-4o")
    assert info.value.kind == "model_not_found" and "OPENAI_API_KEY" in info.value.hint
    with pytest.raises(ProviderError):
        ProviderRegistry([ProviderConfig("x", "openai", "http://x/v1")]).resolve(None)


async def test_list_models_captures_errors(llm_server: ScriptedLLM) -> None:
    reg = ProviderRegistry(
        [
            ProviderConfig("scripted", "openai", llm_server.openai_url, "k"),
            ProviderConfig("claude", "anthropic", llm_server.anthropic_url, "k"),
            ProviderConfig("fixed", "openai", "http://unused/v1", models=["m1", "m2"]),
            ProviderConfig("down", "openai", f"http://127.0.0.1:{closed_port()}/v1", "k"),
            ProviderConfig("badkey", "anthropic", llm_server.anthropic_url, "bad-key"),
        ]
    )
    try:
        listing = await reg.list_models()
        catalog = {group.provider_id: group for group in await reg.model_catalog()}
    finally:
        await reg.aclose()
    assert listing == {
        "scripted": ["test-model", "test-model-2"],
        "claude": ["test-model", "test-model-2"],
        "fixed": ["m1", "m2"],
        "down": [],
        "badkey": [],
    }
    assert catalog["down"].error and "Could not reach" in catalog["down"].error
    assert catalog["badkey"].error and "key" in catalog["badkey"].error
    assert catalog["fixed"].default_model == "m1" and catalog["scripted"].error is None


async def test_detect_ollama(llm_server: ScriptedLLM) -> None:
    reg = ProviderRegistry()
    assert not await reg.detect_ollama(f"http://127.0.0.1:{closed_port()}/v1")
    assert reg.configs() == []
    assert await reg.detect_ollama(llm_server.openai_url)
    (config,) = reg.configs()
    assert (config.id, config.kind, config.source, config.base_url) == (
        "ollama",
        "openai",
        "auto",
        llm_server.openai_url,
    )
    assert not await reg.detect_ollama(llm_server.openai_url)  # already there
    await reg.aclose()


LOADING = """
import asyncio, json, sys
from threadline.agent.builtin import BuiltinRuntime
from threadline.agent.providers.registry import ProviderRegistry

async def main() -> None:
    registry = ProviderRegistry.load(env={"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})
    runtime = BuiltinRuntime(registry, default_model=lambda: asyncio.sleep(0, "openai/m"),
                             max_steps=lambda: asyncio.sleep(0, 5), output_cap=1000, shell_timeout=5)
    checked = await runtime.check(None)
    before = sorted({"openai", "anthropic"} & set(sys.modules))
    await registry.load_sdks()
    built = "openai" in registry._providers
    print(json.dumps([checked, before, sorted({"openai", "anthropic"} & set(sys.modules)), built]))

asyncio.run(main())
"""


def test_sdks_load_only_for_the_providers_in_use_and_never_to_check_a_model() -> None:
    """Checking a model (what chat/start does) needs no SDK; loading imports only the configured
    kinds' SDKs, and builds their adapters in the worker thread too."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", LOADING], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    checked, before, after, built = json.loads(done.stdout)
    assert checked == "openai/m"
    assert before == []
    assert after == ["openai"]
    assert built
