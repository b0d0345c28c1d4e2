"""Settings, providers, models and login in Hermes WebUI's vocabulary (issue 17 item 6), and its status
for a missing or mistyped field (item 7)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_settings
from tests.runs.conftest import serve
from threadline import __version__
from threadline.preferences import HERMES_PREFERENCES, SPEECH_KEYS, PreferenceService
from threadline.store.engine import Store
from threadline.web.app import create_app

HERMES_VALUES = {
    "skin": "catppuccin", "font_size": "xlarge", "pinned_sessions_limit": 7, "sidebar_density": "detailed",
    "send_key": "shift+enter", "auto_title_refresh_every": "10", "busy_input_mode": "steer",
    "update_channel": "experimental", "chat_activity_display_mode": "transparent_stream", "tts_rate": 1.5,
    "tts_engine": "browser", "voice_silence_ms": 2500, "show_cli_sessions": True, "hide_composer_yolo": True,
    "hidden_tabs": ["tasks", "kanban"], "composer_control_order": ["hide_composer_model", "hide_composer_attach"],
    "dashboard_plugins": {"insights": True}, "provider_cost_budget": 25.5, "language": "zh-CN", "rtl": True,
}


@pytest.fixture
async def http(home: Path):
    app = create_app(make_settings(home))
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


async def test_settings_take_every_hermes_key_with_hermes_values(http: httpx.AsyncClient) -> None:
    before = (await http.get("/api/settings")).json()
    assert set(HERMES_PREFERENCES) <= set(before)
    assert before["pinned_sessions_limit"] == 3 and before["skin"] == "default" and before["font_size"] == "default"
    assert before["persisted_speech_keys"] == [] and before["password_env_var"] is False
    assert before["auth_enabled"] is False and before["logged_in"] is True and before["webui_version"] == __version__
    assert "password_hash" not in before
    saved = await http.post("/api/settings", json=HERMES_VALUES)
    assert saved.status_code == 200, saved.text
    after = (await http.get("/api/settings")).json()
    assert {k: after[k] for k in HERMES_VALUES} == HERMES_VALUES
    assert after["default_message_mode"] == "steer"  # Hermes' name for busy_input_mode
    assert after["persisted_speech_keys"] == sorted({"tts_rate", "tts_engine", "voice_silence_ms"} & set(SPEECH_KEYS))
    # Hermes' names are accepted on the way in too; a legacy theme becomes dark with its skin.
    renamed = await http.post("/api/settings", json={"default_message_mode": "interrupt", "onboarding_completed": True,
                                                      "theme": "nord"})
    assert renamed.status_code == 200, renamed.text
    body = renamed.json()
    assert body["busy_input_mode"] == body["default_message_mode"] == "interrupt"
    assert body["onboarding_done"] is body["onboarding_completed"] is True
    assert (body["theme"], body["skin"]) == ("dark", "slate")
    # What GET adds may come back in a POST (a client saving the whole object): ignored, not refused.
    echoed = await http.post("/api/settings", json=body | {"font_size": "small"})
    assert echoed.status_code == 200 and echoed.json()["font_size"] == "small", echoed.text


@pytest.mark.parametrize("body", [
    {"font_size": "huge"}, {"pinned_sessions_limit": 0}, {"pinned_sessions_limit": 100},
    {"pinned_sessions_limit": "5"}, {"sidebar_density": "roomy"}, {"send_key": "alt+enter"}, {"skin": "pink"},
    {"tts_rate": 3}, {"hidden_tabs": "tasks"}, {"hidden_tabs": ["a", "a"]}, {"composer_control_order": ["nope"]},
    {"dashboard_plugins": {"x": 1}}, {"auto_title_refresh_every": 5}, {"language": "en_US!"},
    {"show_cli_sessions": "true"}, {"skin": "mono", "made_up_key": 1}, {"max_tokens": 100},
    {"default_message_mode": "queue", "busy_input_mode": "steer"}, {"provider_cost_budget": -1},
])
async def test_bad_hermes_values_are_refused_and_change_nothing(http: httpx.AsyncClient, body: dict) -> None:
    before = (await http.get("/api/settings")).json()
    response = await http.post("/api/settings", json=body | {"theme": "light"})
    assert response.status_code == 400, (body, response.text)
    assert response.json()["error"]
    assert (await http.get("/api/settings")).json() == before


async def test_the_current_password_must_be_right_when_sent(home: Path) -> None:
    app = create_app(make_settings(home))
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        assert (await client.post("/api/settings", json={"_set_password": "first password"})).status_code == 200
        wrong = await client.post("/api/settings", json={"_set_password": "second password",
                                                          "_current_password": "nope", "skin": "mono"})
        assert wrong.status_code == 403, wrong.text
        assert (await client.get("/api/settings")).json()["skin"] == "default"
        right = await client.post("/api/settings", json={"_set_password": "second password",
                                                          "_current_password": "first password"})
        assert right.status_code == 200 and right.json()["auth_enabled"] is True


async def test_login_without_a_password_set_answers_200(http: httpx.AsyncClient) -> None:
    for body in ({"password": "anything"}, {}):
        response = await http.post("/api/auth/login", json=body)
        assert response.status_code == 200, response.text
        assert response.json() == {"ok": True, "message": "Auth not enabled", "auth_enabled": False, "logged_in": True}
        assert "set-cookie" not in response.headers


async def providers_file(home: Path) -> dict:
    data: dict = json.loads((home / "providers.json").read_text())
    return data


async def test_a_provider_change_names_its_provider_and_keeps_what_it_leaves_out(home: Path) -> None:
    app = create_app(make_settings(home))
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        made = await http.post("/api/providers", json={"id": "openai", "kind": "openai", "base_url": "http://127.0.0.1:9/v1",
                                                        "api_key": "sk-first-key-123456", "models": ["m1", "m2"]})
        assert made.status_code == 200, made.text
        assert made.json()["provider"] == "openai" and made.json()["action"] == "updated" and made.json()["created"]
        stored = await providers_file(home)
        models_before = (await http.get("/api/models")).json()
        # The defect of issue 17: no provider named, so nothing may change.
        for body in ({"api_key": "sk-other-key-999999"}, {}, {"base_url": "http://x"}, {"provider": "openai"},
                     {"id": "openai", "provider": "anthropic", "api_key": "sk-x-123456789"},
                     {"provider": "brand-new", "api_key": "sk-x-123456789"}):
            response = await http.post("/api/providers", json=body)
            assert response.status_code == 400, (body, response.text)
            assert await providers_file(home) == stored, body
            assert (await http.get("/api/models")).json() == models_before, body
        # Hermes' {provider, api_key}: only the key changes.
        keyed = await http.post("/api/providers", json={"provider": "openai", "api_key": "sk-second-key-654321"})
        assert keyed.status_code == 200, keyed.text
        assert keyed.json()["created"] is False and keyed.json()["display_name"] == "OpenAI"
        [config] = (await providers_file(home))["providers"]
        assert config == stored["providers"][0] | {"api_key": "sk-second-key-654321"}
        # Changing the kind without saying where the new kind lives is refused whole.
        assert (await http.post("/api/providers", json={"id": "openai", "kind": "anthropic"})).status_code == 400
        listed = (await http.get("/api/providers")).json()
        [row] = listed["providers"]
        assert listed["active_provider"] == "openai"
        assert row["models"] == [{"id": "m1", "label": "m1"}, {"id": "m2", "label": "m2"}] and row["models_total"] == 2
        assert row["has_key"] and row["key_source"] == "settings" and "sk-second" not in json.dumps(listed)
        # A provider known by name brings its kind and address.
        routed = await http.post("/api/providers", json={"provider": "openrouter", "api_key": "sk-or-key-1234567",
                                                          "models": ["x/y"]})
        assert routed.status_code == 200, routed.text
        saved = {p["id"]: p for p in (await providers_file(home))["providers"]}
        assert saved["openrouter"]["base_url"] == "https://openrouter.ai/api/v1"
        assert saved["openrouter"]["kind"] == "openai"
        # Delete by Hermes' name.
        gone = await http.post("/api/providers/delete", json={"provider": "openrouter"})
        assert gone.status_code == 200 and gone.json()["action"] == "removed", gone.text
        assert (await http.post("/api/providers/delete", json={})).status_code == 400
        assert (await http.post("/api/providers/delete", json={"provider": "openrouter"})).status_code == 404


async def test_models_groups_and_default_model_in_hermes_shape(home: Path) -> None:
    app = create_app(make_settings(home))
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        await http.post("/api/providers", json={"id": "local", "kind": "openai", "base_url": "http://127.0.0.1:9/v1",
                                                 "models": ["small", "big"]})
        catalog = (await http.get("/api/models")).json()
        [group] = catalog["groups"]
        assert group["provider_id"] == "local" and group["provider"] == "local"
        assert group["models"] == [{"id": "local/small", "label": "small", "model": "small"},
                                   {"id": "local/big", "label": "big", "model": "big"}]
        assert catalog["providers"][0]["models"] == ["small", "big"]  # Threadline's own list stays
        chosen = await http.post("/api/default-model", json={"model": "big", "provider": "local"})
        assert chosen.json() == {"ok": True, "default_model": "local/big", "model": "local/big", "provider": "local"}
        auto = await http.post("/api/default-model", json={"model": "local/small", "provider": "auto"})
        assert auto.json()["model"] == "local/small" and auto.json()["provider"] == "local"
        assert (await http.post("/api/default-model", json={"model": "x", "provider": "nope"})).status_code == 400
        assert (await http.get("/api/settings")).json()["default_model"] == "local/small"


async def test_a_missing_or_mistyped_field_is_400_naming_it(http: httpx.AsyncClient) -> None:
    cases = [("/api/session/rename", {"title": "x"}, "session_id"),
             ("/api/session/truncate", {"session_id": "abc", "keep_count": "many"}, "keep_count"),
             ("/api/projects/create", {}, "name"),
             ("/api/default-model", {"model": 5}, "model")]
    for path, body, field in cases:
        response = await http.post(path, json=body)
        assert response.status_code == 400, (path, response.text)
        answer = response.json()
        assert field in answer["error"] and answer["details"][0]["loc"][-1] == field, answer
    missing = await http.get("/api/session")
    assert missing.status_code == 400 and "session_id" in missing.json()["error"]


async def test_live_models_of_one_provider(home: Path) -> None:
    app = create_app(make_settings(home))
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        assert (await http.get("/api/models/live")).json() == {"error": "no_provider", "models": []}
        await http.post("/api/providers", json={"id": "local", "kind": "openai", "models": ["a"],
                                                 "base_url": "http://127.0.0.1:9/v1"})
        await http.post("/api/providers", json={"id": "down", "kind": "openai", "base_url": "http://127.0.0.1:9/v1"})
        live = (await http.get("/api/models/live", params={"provider": "local"})).json()
        assert live == {"provider": "local", "models": [{"id": "local/a", "label": "a"}], "count": 1}
        assert (await http.get("/api/models/live")).json()["provider"] == "local"
        down = await http.get("/api/models/live", params={"provider": "down"})
        assert down.status_code == 200 and down.json()["count"] == 0 and down.json()["error"], down.text
        assert (await http.get("/api/models/live", params={"provider": "nope"})).status_code == 404


async def test_the_schema_documents_400_not_422(http: httpx.AsyncClient) -> None:
    schema = (await http.get("/openapi.json")).json()
    statuses = {code for path in schema["paths"].values() for op in path.values() for code in op["responses"]}
    assert "422" not in statuses and "400" in statuses
    assert "400" in schema["paths"]["/api/session/rename"]["post"]["responses"]


async def test_a_few_preferences_read_alone_match_the_whole_set(tmp_path: Path) -> None:
    """``get_many`` (what a run reads at its start and end) answers what ``get_all`` answers, for stored
    values, defaults and Hermes' aliases alike."""
    store = Store.for_sqlite_path(tmp_path / "db.sqlite")
    await store.migrate()
    preferences = PreferenceService(store)
    try:
        await preferences.update({"busy_input_mode": "steer", "context_windows": {"m": 8192}, "llm_titles": False})
        everything = await preferences.get_all()
        keys = ("default_message_mode", "busy_input_mode", "context_windows", "vision_models", "llm_titles",
                "theme", "persisted_speech_keys")
        assert await preferences.get_many(*keys) == {key: everything[key] for key in keys}
        assert await preferences.get("default_message_mode") == "steer"
        assert await preferences.get("theme") == "system"
    finally:
        await store.close()
