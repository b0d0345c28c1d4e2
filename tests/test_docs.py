"""Settings and endpoints have one source of truth each, and the docs keep up with them."""

from __future__ import annotations

import re
from pathlib import Path

from threadline.settings import Settings
from threadline.web.app import create_app

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text()
    missing = [name for name in Settings.model_fields if f"`THREADLINE_{name.upper()}`" not in text]
    assert not missing, f"add these settings to docs/configuration.md: {missing}"


def test_configuration_doc_names_no_removed_setting() -> None:
    text = (DOCS / "configuration.md").read_text()
    server_section = text.split("## Tests and benchmarks")[0]
    documented = set(re.findall(r"`THREADLINE_([A-Z_]+)`", server_section))
    assert documented <= {name.upper() for name in Settings.model_fields}, documented


def test_every_endpoint_is_documented(tmp_path: Path) -> None:
    text = (DOCS / "api.md").read_text()
    schema = create_app(Settings(home=tmp_path)).openapi()
    missing = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method in operations
        if f"{method.upper()} {path}`" not in text
    ]
    assert not missing, f"add these endpoints to docs/api.md: {missing}"


def test_readme_has_the_two_setup_commands() -> None:
    readme = (DOCS.parent / "README.md").read_text()
    assert "pip install . && threadline serve" in readme
    assert "pip install -e '.[dev]' && python -m pytest" in readme
    ci = (DOCS.parent / ".ci" / "run").read_text()
    assert "pip install -e '.[dev]' && python -m pytest" in ci
