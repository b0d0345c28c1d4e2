"""Configuration: one pydantic-settings class, read once at start-up and injected.

Every field is documented in docs/configuration.md; a test fails when one is not.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MB = 1024 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="THREADLINE_", extra="ignore")

    home: Path = Field(default_factory=lambda: Path.home() / ".threadline")
    host: str = "127.0.0.1"
    port: int = Field(default=8787, ge=0, le=65535)
    database_url: str | None = None
    redis_url: str | None = None
    redis_prefix: str = Field(default="threadline", min_length=1, max_length=64)
    redis_stream_maxlen: int = Field(default=10_000, ge=100)
    redis_stream_ttl_seconds: float = Field(default=3600.0, gt=0)

    draft_ttl_seconds: float = Field(default=24 * 3600, gt=0)
    draft_cap: int = Field(default=10_000, ge=1)
    max_body_bytes: int = Field(default=20 * MB, ge=1024)
    archive_max_bytes: int = Field(default=200 * MB, ge=1024)
    archive_max_file_bytes: int = Field(default=100 * MB, ge=1024)
    archive_max_members: int = Field(default=10_000, ge=1)
    session_list_max: int = Field(default=500, ge=1)

    default_workspace: Path | None = None
    workspace_roots: list[Path] = Field(default_factory=list)
    default_model: str | None = None

    agent_max_steps: int = Field(default=25, ge=1, le=500)
    approval_timeout_seconds: float = Field(default=300.0, gt=0)
    yolo_survives_restart: bool = False
    clarify_timeout_seconds: float = Field(default=120.0, gt=0)
    shell_timeout_seconds: float = Field(default=120.0, gt=0)
    tool_output_cap: int = Field(default=50_000, ge=1000)
    context_window_default: int = Field(default=32_768, ge=1_024)
    workspace_threads: int = Field(default=8, ge=1, le=256)
    provider_timeout_seconds: float = Field(default=120.0, gt=0)
    mcp_call_timeout_seconds: float = Field(default=120.0, gt=0)
    mcp_connect_timeout_seconds: float = Field(default=30.0, gt=0)
    mcp_retry_seconds: float = Field(default=30.0, ge=0)
    mcp_auth_timeout_seconds: float = Field(default=600.0, gt=0)
    web_timeout_seconds: float = Field(default=20.0, gt=0, le=600)
    web_fetch_max_bytes: int = Field(default=MB, ge=1024, le=50 * MB)
    web_max_redirects: int = Field(default=5, ge=0, le=20)
    checkpoint_interval_seconds: float = Field(default=0.5, gt=0)
    heartbeat_seconds: float = Field(default=15.0, gt=0)
    llm_titles: bool = True
    title_model: str | None = None
    acp_max_processes: int = Field(default=8, ge=1, le=1000)
    acp_idle_seconds: float = Field(default=600.0, gt=0)
    acp_request_timeout_seconds: float = Field(default=60.0, gt=0)
    acp_silence_seconds: float = Field(default=600.0, gt=0)
    detect_ollama: bool = True

    memory_char_limit: int = Field(default=2200, ge=100, le=100_000)
    user_char_limit: int = Field(default=1375, ge=100, le=100_000)
    skills_dir: Path | None = None
    timezone: str | None = None
    scheduler: bool = True
    schedule_grace_seconds: float = Field(default=3600.0, ge=0)
    schedule_poll_seconds: float = Field(default=30.0, gt=0, le=3600)

    password: str | None = None
    insecure: bool = False
    allowed_origins: list[str] = Field(default_factory=list)
    auth_cookie_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=60)
    login_rate_limit: int = Field(default=5, ge=1)
    onboarding_open: bool = False

    log_json: bool = False
    metrics_token: str | None = None
    log_level: str = "INFO"
    instance_id: str | None = None
    run_lease_seconds: float = Field(default=15.0, gt=0)

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def sqlite_path(self) -> Path:
        return self.home / "threadline.db"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.sqlite_path}"

    @property
    def resolved_default_workspace(self) -> Path:
        return (self.default_workspace or self.home / "workspace").expanduser().resolve()

    @property
    def resolved_workspace_roots(self) -> list[Path]:
        """Directories under which a session's workspace may live."""
        roots = [p.expanduser().resolve() for p in self.workspace_roots]
        if not roots:
            roots = [Path.home().resolve(), self.home]
        default = self.resolved_default_workspace
        if not any(default.is_relative_to(r) for r in roots):
            roots.append(default)
        return roots

    @property
    def resolved_skills_dir(self) -> Path:
        return (self.skills_dir or self.home / "skills").expanduser().resolve()

    @property
    def attachments_dir(self) -> Path:
        """Where uploads are copied, one folder per session (removed with the session)."""
        return self.home / "attachments"

    @property
    def providers_file(self) -> Path:
        return self.home / "providers.json"

    @property
    def mcp_file(self) -> Path:
        return self.home / "mcp.json"

    @property
    def web_file(self) -> Path:
        """The web tools' configuration, set in Settings (``POST /api/web-tools``)."""
        return self.home / "web.json"

    @property
    def runtimes_file(self) -> Path:
        """The ACP agents configured in Settings (``POST /api/runtimes``)."""
        return self.home / "runtimes.json"
