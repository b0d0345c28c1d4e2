"""The chat engine's fixtures (the app served for real, the scripted LLM) for memory, skills and tasks."""

from tests.runs.conftest import chat, chat_app, chat_settings

__all__ = ["chat", "chat_app", "chat_settings"]
