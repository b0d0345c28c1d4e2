"""The workspace jail against a corpus of escapes, with real symlinks."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

import threadline.workspace
from threadline.errors import BadRequest, NotFound
from threadline.workspace.jail import Jail, PathEscape, PathMissing, readable


@pytest.fixture
def jail(tmp_path: Path) -> Jail:
    root = tmp_path / "ws"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "pkg" / "mod.py").write_text("x = 1\n")
    (root / "README.md").write_text("hi\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret\n")
    (tmp_path / "ws-sibling").mkdir()
    os.symlink(outside, root / "out_link")  # directory symlink leaving the root
    os.symlink(outside / "secret.txt", root / "secret_link")  # file symlink leaving the root
    os.symlink(outside / "new.txt", root / "dangling_out")  # dangling, target outside
    os.symlink("src/pkg", root / "in_link")  # relative symlink staying inside
    os.symlink("../ws/README.md", root / "round_trip")  # leaves and comes back: fine
    os.symlink("loop_b", root / "loop_a")
    os.symlink("loop_a", root / "loop_b")
    os.symlink("self_loop", root / "self_loop")
    os.symlink("/", root / "root_link")
    return Jail(root)


ESCAPES = [
    "..",
    "../",
    "../outside/secret.txt",
    "src/../../outside/secret.txt",
    "src/pkg/../../../outside",
    "./../ws-sibling",
    "/etc/passwd",
    "/",
    "//etc/passwd",
    "a\x00b",
    "README.md\x00.png",
    "..\\outside\\secret.txt",
    "src\\..\\..\\outside",
    "%2e%2e/outside",
    "%2E%2E%2Foutside",
    "..%2foutside",
    "..%2Foutside",
    "%2e%2e%5coutside",
    "%252e%252e/outside",
    "%25252e%25252e/outside",
    "src/%00",
    "x" * 256,
    "a/" * 2100,
    "out_link",
    "out_link/secret.txt",
    "out_link/new.txt",
    "secret_link",
    "dangling_out",
    "loop_a",
    "loop_a/x",
    "self_loop",
    "root_link",
    "root_link/etc/passwd",
    "in_link/../../outside",
]


@pytest.mark.parametrize("path", ESCAPES)
def test_escapes_are_refused(jail: Jail, path: str) -> None:
    with pytest.raises(PathEscape):
        jail.resolve(path)


def test_escape_outside_absolute_of_sibling_prefix(jail: Jail, tmp_path: Path) -> None:
    # /tmp/x/ws-sibling starts with the string /tmp/x/ws but is not inside it.
    with pytest.raises(PathEscape):
        jail.resolve(str(tmp_path / "ws-sibling"))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("", "."),
        (".", "."),
        ("README.md", "README.md"),
        ("./src//pkg/", "src/pkg"),
        ("src/pkg/../pkg/mod.py", "src/pkg/mod.py"),
        ("in_link/mod.py", "src/pkg/mod.py"),
        ("round_trip", "README.md"),
        ("new/dir/file.txt", "new/dir/file.txt"),
        ("100%.txt", "100%.txt"),
        ("file%20name.txt", "file%20name.txt"),
        ("...", "..."),
        ("..foo", "..foo"),
        ("ünïcode.txt", "ünïcode.txt"),
        ("x" * 255, "x" * 255),
    ],
)
def test_paths_inside_are_resolved(jail: Jail, path: str, expected: str) -> None:
    resolved = jail.resolve(path)
    assert resolved.is_relative_to(jail.root)
    assert jail.relative(resolved) == expected


def test_absolute_path_inside_is_accepted(jail: Jail) -> None:
    assert jail.resolve(str(jail.root / "README.md")) == jail.root / "README.md"


def test_must_exist(jail: Jail) -> None:
    assert jail.resolve("README.md", must_exist=True).is_file()
    with pytest.raises(PathMissing) as info:
        jail.resolve("nope.txt", must_exist=True)
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, NotFound)
    assert "nope.txt" in str(info.value)


def test_errors_fit_the_shared_vocabulary(jail: Jail) -> None:
    with pytest.raises(PathEscape) as info:
        jail.resolve("../x")
    assert isinstance(info.value, ValueError) and isinstance(info.value, BadRequest)
    assert info.value.status == 400
    assert "leaves the workspace" in str(info.value)


def test_root_given_through_a_symlink(tmp_path: Path, jail: Jail) -> None:
    alias = tmp_path / "alias"
    os.symlink(jail.root, alias)
    aliased = Jail(alias)
    assert aliased.root == jail.root
    assert aliased.resolve("README.md") == jail.root / "README.md"
    with pytest.raises(PathEscape):
        aliased.resolve("out_link/secret.txt")


def test_non_string_is_refused(jail: Jail) -> None:
    with pytest.raises(PathEscape):
        jail.resolve(None)  # type: ignore[arg-type]
    assert not jail.contains("../x") and jail.contains("a/b")


def test_readable_names(jail: Jail) -> None:
    assert readable("plain é.txt") == "plain é.txt"
    assert readable(os.fsdecode(b"caf\xe9.txt")) == "caf\ufffd.txt"
    assert readable("lone \ud800 surrogate") == "lone \ufffd surrogate"  # not an escaped byte
    raw = os.fsencode(jail.root) + b"/src/r\xe9sum\xe9"
    os.mkdir(raw)
    resolved = jail.resolve("src/r\ufffdsum\ufffd")
    assert os.fsencode(resolved) == raw  # the shown name maps back to the entry
    assert jail.relative(resolved) == "src/r\ufffdsum\ufffd"
    assert jail.resolve("src/r\ufffdsum\ufffd/new.txt").parent == resolved
    os.mkdir(os.fsencode(jail.root) + b"/src/r\xe8sum\xe8")  # two names that look the same: neither is guessed
    assert jail.resolve("src/r\ufffdsum\ufffd") == jail.root / "src" / "r\ufffdsum\ufffd"
    with pytest.raises(PathMissing):
        jail.resolve("src/r\ufffdsum\ufffd", must_exist=True)
    with pytest.raises(PathEscape, match="lone surrogate"):
        jail.resolve("a\ud800b")


def test_shown_names_never_map_outside(jail: Jail, tmp_path: Path) -> None:
    os.mkdir(os.fsencode(tmp_path) + b"/outside/x\xff")
    with pytest.raises(PathEscape):
        jail.resolve("../outside/x\ufffd")
    with pytest.raises(PathEscape):
        jail.resolve("out_link/x\ufffd")


def imported(module: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_the_workspace_package_sits_beside_sessions() -> None:
    """It imports only the layers below it (errors, settings, store), so sessions, agent, runs and web
    can all use it."""
    package = Path(threadline.workspace.__file__).parent
    for module in package.glob("*.py"):
        ours = {name for name in imported(module) if name.startswith("threadline")}
        wrong = {name for name in ours if not name.startswith(("threadline.workspace", "threadline.errors",
                                                                "threadline.settings", "threadline.store"))}
        assert not wrong, (module.name, wrong)


def test_the_file_tools_and_the_file_api_hold_no_file_rules_of_their_own() -> None:
    """One copy of each rule: the tools and the routes only call the workspace package."""
    src = Path(threadline.workspace.__file__).parent.parent
    for module in (src / "agent" / "tools" / "files.py", src / "web" / "routes" / "files.py"):
        names = imported(module)
        assert not names & {"os", "fnmatch", "re", "shutil", "tempfile", "stat", "mimetypes", "asyncio"}, module
