"""Settings and endpoints have one source of truth each, and the docs keep up with them."""

from __future__ import annotations

import re
from pathlib import Path

from threadline.settings import Settings
from threadline.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


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


def setup_commands() -> list[str]:
    """The code blocks of the README's "Set up" section: the install-and-serve and the test command."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", section, re.S)]


def test_readme_has_the_two_setup_commands() -> None:
    serve, test = setup_commands()
    # Each makes a virtual environment of its own (PEP 668: no pip into Debian's or Ubuntu's Python),
    # so the second cannot reinstall what the first runs.
    assert re.fullmatch(r"python3 -m venv (\S+) && \1/bin/pip install \. && \1/bin/threadline serve", serve), serve
    assert re.fullmatch(r"python3 -m venv (\S+) && \1/bin/pip install -e '\.\[dev\]' && \1/bin/python -m pytest",
                        test), test
    assert serve.split()[3] != test.split()[3]


def test_ci_and_the_docs_use_the_readme_commands() -> None:
    serve, test = setup_commands()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test in [line.strip() for line in ci], "the README's test command is not a line of .ci/run"
    assert any(f'bash -c "{serve}"' in line for line in ci), "the README's first command is not run by .ci/run"
    dev_venv = test.split()[3]
    assert f"DEV_VENV := {dev_venv}" in (ROOT / "Makefile").read_text()
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert {f"{serve.split()[3]}/", f"{dev_venv}/"} <= set(ignored)
    # Any other page that tells how to install or test Threadline says it the same way (installing
    # another program, such as an agent in a venv of its own, is not installing Threadline).
    for page in [ROOT / "README.md", *DOCS.glob("*.md")]:
        for line in page.read_text().splitlines():
            if re.search(r"pip install (\.|-e\b)", line) or "-m pytest" in line:
                assert line.strip() in (serve, test), f"{page.name}: {line.strip()}"
