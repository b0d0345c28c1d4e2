"""What a ``/bin/sh -c`` command line runs, and whether a standing approval may cover it.

``analyse(line)`` reads the line (``shellsyntax.read``: every simple command in pipelines, lists ``;``
``&`` ``&&`` ``||`` and newlines, subshells, brace groups and substitutions) and returns its
``programs`` (each once), the ``paths`` it redirects to, and ``problems``: why no standing approval
("session" or "always") may cover it. A line with programs and no problem is covered when each of its
programs is approved. Each of these is a problem, so the user is asked every time:

- a substitution: ``$(...)``, backticks, ``<(...)``, ``>(...)``, also inside double quotes,
  here-documents and assignments (the commands inside are listed too), or ``${...}`` beyond a plain
  name;
- a program word the shell computes (``$X``, ``"$@"``, ``${X}``, ``~``, globs, braces, ``$'...'``), or a
  name that is empty or holds anything but ``A-Z a-z 0-9 _ . + @ % , : / -`` (so no unicode lookalikes
  or control characters; ``[`` is fine);
- a program that runs other programs or code (``eval``, ``exec``, ``command``, ``env``, ``xargs``,
  ``sudo``, ``nohup``, ``time``, ``timeout``, ``.``, ``trap``, every shell...) or changes how later
  commands are found or run (``alias``, ``hash``, ``export``, ``read``, ``printf -v``...);
- a variable assignment (``FOO=1 cmd``, ``FOO=1``): the environment can make any program run other code
  (``PATH``, ``LD_PRELOAD``, ``PAGER``...);
- a shell keyword in command position (``if``, ``for``, ``while``, ``case``, ``function``, ``!``,
  ``[[``...); a function definition;
- a redirection to anything but ``/dev/null`` or a literal relative path without ``..`` (descriptors
  such as ``2>&1``, here-documents and here-strings are fine); after ``cd``, ``pushd`` or ``popd``, any
  relative path (a redirection, or a program such as ``./build.sh``);
- what cannot be read with certainty (see ``shellsyntax``: unterminated quotes, arithmetic, stray
  operators...), a NUL byte, or more than 100,000 characters.

The caller checks ``paths`` against the workspace (symlinks included). Approving a program approves
whatever it does with any arguments: an interpreter (``python``) or ``find -exec`` can run anything.
The reader is our own code (bashlex is GPL).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from threadline.agent.tools.shellsyntax import Command, Word, read, shown

MAX_CHARS = 100_000
RESERVED = frozenset({"if", "then", "else", "elif", "fi", "do", "done", "case", "esac", "while", "until", "for",
                      "select", "in", "function", "!", "[[", "]]", "{", "}", "coproc"})
RUNNERS = frozenset({
    "eval", "exec", "command", "builtin", "source", ".", "trap", "fc", "env", "xargs", "sudo", "doas", "su",
    "runuser", "pkexec", "nohup", "time", "timeout", "nice", "ionice", "chrt", "taskset", "stdbuf", "setsid",
    "chroot", "unshare", "nsenter", "flock", "strace", "ltrace", "watch", "parallel", "script", "busybox",
    "fakeroot", "proot", "firejail", "bwrap", "systemd-run", "sh", "bash", "dash", "zsh", "ksh", "ksh93",
    "mksh", "pdksh", "ash", "yash", "posh", "rbash", "fish", "csh", "tcsh", "pwsh",
})
ENVIRONMENT = frozenset({"alias", "unalias", "hash", "enable", "shopt", "export", "readonly", "declare", "typeset",
                         "local", "unset", "read", "getopts", "mapfile", "readarray", "let"})
DIRECTORY = frozenset({"cd", "pushd", "popd"})
PROGRAM_NAME = re.compile(r"[A-Za-z0-9_.+@%,:/-]+|\[")


@dataclass(frozen=True, slots=True)
class Analysis:
    programs: tuple[str, ...]
    paths: tuple[str, ...]
    problems: tuple[str, ...]

    @property
    def coverable(self) -> bool:
        return bool(self.programs) and not self.problems


def analyse(line: str) -> Analysis:
    if "\x00" in line:
        return Analysis((), (), ("it contains a NUL byte",))
    if len(line) > MAX_CHARS:
        return Analysis((), (), (f"it is longer than {MAX_CHARS:,} characters",))
    syntax = read(line)
    programs: list[str] = []
    paths: list[str] = []
    problems = [f"it uses {kind}" for kind in syntax.substitutions]
    for command in syntax.commands:
        problems += [f"it sets the variable {name}" for name in command.assignments]
        if command.words:
            programs.append(command.words[0].value)
            problems += _program_problems(command)
        for operator, target in command.redirections:
            problem, path = _redirection(operator, target)
            problems += [problem] if problem else []
            paths += [path] if path else []
    if syntax.error is not None:
        problems.append(f"its shell syntax cannot be read with certainty ({syntax.error})")
    changes_dir = any(p.rsplit("/", 1)[-1] in DIRECTORY for p in programs)
    if changes_dir and (paths or any("/" in p and not p.startswith("/") for p in programs)):
        problems.append("it changes directory, so its relative paths cannot be checked")
    if not programs and not problems:
        problems.append("it runs no program")
    return Analysis(tuple(dict.fromkeys(programs)), tuple(dict.fromkeys(paths)), tuple(dict.fromkeys(problems)))


def _program_problems(command: Command) -> list[str]:
    program = command.words[0]
    name = program.value
    base = name.rsplit("/", 1)[-1]
    if not program.literal:
        return [f"the shell computes the program name {shown(name)}"]
    if name in RESERVED:
        return [f"it uses the shell keyword {shown(name)}"]
    if not PROGRAM_NAME.fullmatch(name):
        return [f"the program name {shown(name)} has unusual characters"]
    if base in RUNNERS:
        return [f"{base} runs other programs or code"]
    if base in ENVIRONMENT or (base == "printf" and any(w.value.startswith("-v") for w in command.words[1:])):
        return [f"{base} changes how later commands run"]
    return []


def _redirection(operator: str, target: Word) -> tuple[str | None, str | None]:
    """The problem with a redirection, or the relative path it opens (neither for a descriptor)."""
    value = target.value
    if operator in ("<<", "<<-", "<<<"):
        return None, None  # text on stdin; a substitution in it is reported as such
    if not target.literal:
        return "it redirects to a name the shell computes", None
    if value == "/dev/null" or (operator in ("<&", ">&") and (value == "-" or (value.isascii() and value.isdigit()))):
        return None, None
    if value.startswith("/"):
        return f"it redirects to {shown(value)}, outside the workspace", None
    if not value or ".." in value.split("/"):
        return f"it redirects to {shown(value)}, which may leave the workspace", None
    return None, value
