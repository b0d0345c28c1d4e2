"""The layers point down (issue 12 item 3): every ``threadline`` import in the package, read from the
source with ``ast``, goes from a layer to the same layer or a lower one.

    errors, settings, store, preferences, redact, logs, jsonvalues   (the base)
    < sessions, workspace, memory, skills                (side by side)
    < agent < runs, schedules < cluster < services < web < cli

Nothing below ``web`` imports FastAPI or Starlette. No module is over 400 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import threadline

PACKAGE = Path(threadline.__file__).parent
LAYERS = {
    "__init__": 0, "errors": 0, "settings": 0, "store": 0, "preferences": 0, "redact": 0, "logs": 0, "jsonvalues": 0,
    "sessions": 1, "workspace": 1, "memory": 1, "skills": 1,
    "agent": 2, "runs": 3, "schedules": 3, "cluster": 4, "services": 5, "web": 6, "cli": 7, "__main__": 8,
}
WEB_FRAMEWORKS = ("fastapi", "starlette", "uvicorn")
MAX_LINES = 400


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def _layer_of(relative: Path) -> str:
    return relative.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def test_every_module_has_a_layer() -> None:
    unknown = {_layer_of(p.relative_to(PACKAGE)) for p in _modules()} - set(LAYERS)
    assert not unknown, f"modules outside every layer: {sorted(unknown)}; add them to LAYERS and docs/architecture.md"


def test_imports_point_down() -> None:
    wrong = []
    for path in _modules():
        source = _layer_of(path.relative_to(PACKAGE))
        for line, module in _imports(path):
            parts = module.split(".")
            if parts[0] == "threadline" and len(parts) > 1 and LAYERS.get(parts[1], 99) > LAYERS[source]:
                wrong.append(f"{path.relative_to(PACKAGE)}:{line} ({source}) imports {module}")
            if parts[0] in WEB_FRAMEWORKS and LAYERS[source] < LAYERS["web"]:
                wrong.append(f"{path.relative_to(PACKAGE)}:{line} ({source}) imports {module}")
    assert not wrong, "imports that point up:\n" + "\n".join(wrong)


def test_no_module_is_over_400_lines() -> None:
    long = {str(p.relative_to(PACKAGE)): n for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these by concept: {long}"
