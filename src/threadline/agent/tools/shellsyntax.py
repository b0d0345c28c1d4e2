"""A reader of ``/bin/sh`` command lines: POSIX sh, plus the bash forms that matter for safety.

``read(line)`` returns every simple command of the line (in pipelines, lists, subshells, brace groups and
substitutions) with its words and redirections, the substitutions met (their commands are listed too),
and why reading stopped, if it did. ``commands.py`` decides what that means for approvals.

Reading stops (``Syntax.error``) at unterminated quotes, backticks or here-documents, a here-document
line ending in a backslash (bash and dash disagree on where such a body ends), a non-literal
here-document delimiter, arithmetic (``$((...))``, ``$[...]``, ``((...))``), a function definition, a
stray or missing operator, or nesting deeper than ``MAX_DEPTH``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_DEPTH = 32

_META = " \t\n;&|()<>"
_OPERATORS = ("&&", "||", ";;", "|&", "((", "&>>", "&>", "<<<", "<<-", "<<", "<>", "<&", ">>", ">|", ">&",
              ";", "&", "|", "(", ")", "<", ">")  # longest first
_BY_FIRST = {c: tuple(op for op in _OPERATORS if op[0] == c) for c in "&|;()<>"}
REDIRECTS = frozenset({"<", ">", ">>", ">|", "<>", "<&", ">&", "&>", "&>>", "<<", "<<-", "<<<"})
_JOINERS = ("&&", "||", "|", "|&")
_BLANK = re.compile(r"(?:[ \t]+|\\\n)+")
_WORD_RUN = re.compile(r"[^ \t\n;&|()<>\\'\"$`*?{}\[\]~]+")
_QUOTED_RUN = re.compile(r"[^\\$`\"}]+")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_PARAMETER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-]")
_PLAIN_BRACED = re.compile(r"\{(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]+|[@*#?$!-])\}")


@dataclass(frozen=True, slots=True)
class Word:
    value: str  # after quote removal; expansions as written
    literal: bool  # no expansion, glob, tilde or brace: the shell sees exactly ``value``
    quoted: bool
    assignment: str | None = None  # NAME of a leading ``NAME=``
    io_number: bool = False  # digits right before ``<`` or ``>``


@dataclass
class Command:
    """A simple command: its leading assignments, then its words (the program first), and its
    redirections as (operator, target); a group ``( )`` or ``{ }`` has only redirections."""

    assignments: list[str] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)
    redirections: list[tuple[str, Word]] = field(default_factory=list)


@dataclass
class Syntax:
    commands: list[Command] = field(default_factory=list)
    substitutions: list[str] = field(default_factory=list)  # kinds, each once
    error: str | None = None

    def substitution(self, kind: str) -> None:
        if kind not in self.substitutions:
            self.substitutions.append(kind)


Token = Word | str  # an operator, "\n", or "" at the end


class Unparsable(Exception):
    pass


def read(line: str) -> Syntax:
    syntax = Syntax()
    try:
        _Reader(line, syntax, 0).parse()
    except Unparsable as exc:
        syntax.error = str(exc)
    return syntax


def shown(text: str, limit: int = 40) -> str:
    """``text`` quoted for a message, cut to ``limit`` characters."""
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _is_word(token: Token, value: str) -> bool:
    return isinstance(token, Word) and token.value == value and not token.quoted


def _describe(token: Token) -> str:
    return shown(token.value) if isinstance(token, Word) else {"": "end", "\n": "newline"}.get(token, repr(token))


class _Reader:
    def __init__(self, src: str, syntax: Syntax, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise Unparsable(f"nesting deeper than {MAX_DEPTH}")
        self.src, self.i, self.syntax, self.depth = src, 0, syntax, depth
        self.heredocs: list[tuple[str, bool, bool]] = []  # (delimiter, expands, strips tabs)
        self.peeked: Token | None = None

    def parse(self) -> None:
        self._list("")
        if self.heredocs:
            raise Unparsable("an unterminated here-document")

    # -- grammar: lists of pipelines (commands joined by && || | |&) ----------------------------------

    def _nested(self, run: Callable[[], object]) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise Unparsable(f"nesting deeper than {MAX_DEPTH}")
        run()
        self.depth -= 1

    def _at_end(self, token: Token, end: str) -> bool:
        return token == end or (end == "}" and _is_word(token, "}"))

    def _newlines(self) -> None:
        while self._peek() == "\n":
            self._take()

    def _list(self, end: str) -> None:
        """Commands separated by ``;``, ``&`` and newlines, up to ``end``: ")", "}" or "" (the end)."""
        count = 0
        while True:
            self._newlines()
            if self._at_end(self._peek(), end):
                self._take()
                break
            if self._peek() == "":
                raise Unparsable(f"a missing {end!r}")
            self._command()
            count += 1
            while self._peek() in _JOINERS:
                self._take()
                self._newlines()
                self._command()
            if self._peek() in (";", "&", "\n"):
                self._take()
            elif not (self._peek() == "" or self._at_end(self._peek(), end)):
                raise Unparsable(f"an unexpected {_describe(self._peek())}")
        if count == 0 and end:
            raise Unparsable("an empty group")

    def _command(self) -> None:
        token = self._peek()
        command = Command()
        self.syntax.commands.append(command)  # before the commands inside it
        if token == "(" or _is_word(token, "{"):
            self._take()
            self._nested(lambda: self._list(")" if token == "(" else "}"))
            self._simple(command, group=True)
        elif token == "((":
            raise Unparsable("an arithmetic command ((...))")
        elif isinstance(token, Word) or token in REDIRECTS:
            self._simple(command, group=False)
        else:
            raise Unparsable(f"an unexpected {_describe(token)}")

    def _simple(self, command: Command, *, group: bool) -> None:
        """The words and redirections of a simple command, or the redirections after a group."""
        while True:
            token = self._peek()
            if isinstance(token, Word) and token.io_number:
                self._take()
                operator = self._take()
                if not isinstance(operator, str) or operator not in REDIRECTS:
                    raise Unparsable("a file descriptor without a redirection")
                self._redirection(command, operator)
            elif isinstance(token, str) and token in REDIRECTS:
                self._take()
                self._redirection(command, token)
            elif isinstance(token, Word) and group:
                raise Unparsable(f"a word after a group: {_describe(token)}")
            elif isinstance(token, Word):
                self._take()
                if not command.words and token.assignment:
                    command.assignments.append(token.assignment)
                else:
                    command.words.append(token)
            else:
                break
        if self._peek() in ("(", "(("):
            raise Unparsable("a function definition")

    def _redirection(self, command: Command, operator: str) -> None:
        target = self._take()
        if not isinstance(target, Word):
            raise Unparsable(f"{operator} without a target")
        if operator in ("<<", "<<-"):
            if not target.literal:
                raise Unparsable("a here-document delimiter that is not literal")
            self.heredocs.append((target.value, not target.quoted, operator == "<<-"))
        command.redirections.append((operator, target))

    # -- tokens -------------------------------------------------------------------------------------

    def _peek(self) -> Token:
        if self.peeked is None:
            self.peeked = self._read_token()
        return self.peeked

    def _take(self) -> Token:
        token, self.peeked = self._peek(), None
        return token

    def _read_token(self) -> Token:
        src = self.src
        while True:
            blank = _BLANK.match(src, self.i)
            self.i = blank.end() if blank else self.i
            if not src.startswith("#", self.i):
                break
            end = src.find("\n", self.i)  # a comment
            self.i = len(src) if end < 0 else end
        if self.i >= len(src):
            return ""
        c = src[self.i]
        if c == "\n":
            self.i += 1
            self._read_heredocs()
            return "\n"
        if src.startswith(("<(", ">("), self.i):
            self.i += 2
            self.syntax.substitution("process substitution")
            self._nested(lambda: self._list(")"))
            return Word("<(...)", literal=False, quoted=False)
        for op in _BY_FIRST.get(c, ()):
            if src.startswith(op, self.i):
                self.i += len(op)
                return op
        return self._word()

    def _word(self) -> Word:
        src, start = self.src, self.i
        parts: list[str] = []
        literal, quoted, bracket = True, False, False
        while self.i < len(src) and (c := src[self.i]) not in _META:
            if run := _WORD_RUN.match(src, self.i):
                parts.append(run.group())
                self.i = run.end()
            elif c == "\\":
                if self.i + 1 >= len(src):
                    raise Unparsable("a trailing backslash")
                if src[self.i + 1] != "\n":
                    parts.append(src[self.i + 1])
                    quoted = True
                self.i += 2
            elif c == "'":
                end = src.find("'", self.i + 1)
                if end < 0:
                    raise Unparsable("an unterminated single quote")
                parts.append(src[self.i + 1 : end])
                self.i, quoted = end + 1, True
            elif c == '"':
                self.i += 1
                text, plain = self._double_quoted('"')
                parts.append(text)
                literal, quoted = literal and plain, True
            elif c in "$`":
                text, plain = self._dollar() if c == "$" else self._backticks()
                parts.append(text)
                literal = literal and plain
            else:
                literal = literal and not (c in "*?{}" or (c == "~" and self.i == start) or (c == "]" and bracket))
                bracket = bracket or c == "["
                parts.append(c)
                self.i += 1
        value = "".join(parts)
        assignment = _ASSIGNMENT.match(src, start)
        io_number = not quoted and value.isascii() and value.isdigit() and src.startswith(("<", ">"), self.i)
        return Word(value, literal, quoted, assignment.group()[:-1] if assignment else None, io_number)

    def _double_quoted(self, end: str) -> tuple[str, bool]:
        """The text up to ``end`` ("" for the end of the input: a here-document body), and whether it
        is literal; finds the substitutions inside."""
        src, parts, plain = self.src, list[str](), True
        escapes = "$`\\\n" + end
        while self.i < len(src):
            c = src[self.i]
            if run := _QUOTED_RUN.match(src, self.i):
                parts.append(run.group())
                self.i = run.end()
            elif end and c == end:
                self.i += 1
                return "".join(parts), plain
            elif c == "\\" and (after := src[self.i + 1 : self.i + 2]) and after in escapes:
                parts.append(after if after != "\n" else "")
                self.i += 2
            elif c in "$`":
                text, literal = self._dollar() if c == "$" else self._backticks()
                parts.append(text)
                plain = plain and literal
            else:
                parts.append(c)
                self.i += 1
        if end:
            raise Unparsable(f"an unterminated {end}")
        return "".join(parts), plain

    def _dollar(self) -> tuple[str, bool]:
        """An expansion at ``$``: its text as written, and whether it is a literal ``$``."""
        src, i = self.src, self.i + 1
        if src.startswith(("((", "["), i):
            raise Unparsable("arithmetic expansion, which can run code in bash")
        if src.startswith(("'", '"'), i):  # bash's $'...' and $"...": the quotes are read as such
            self.i = i
            return "$", False
        if src.startswith("(", i):
            self.i = i + 1
            self.syntax.substitution("command substitution")
            self._nested(lambda: self._list(")"))
        elif braced := _PLAIN_BRACED.match(src, i):
            self.i = braced.end()
        elif src.startswith("{", i):
            self.syntax.substitution("a ${...} expansion with an operator")
            self.i = i + 1
            self._nested(lambda: self._double_quoted("}"))
        elif name := _PARAMETER.match(src, i):
            self.i = name.end()
        else:
            self.i = i
            return "$", True
        return src[i - 1 : self.i], False

    def _backticks(self) -> tuple[str, bool]:
        src, i = self.src, self.i + 1
        inner: list[str] = []
        while i < len(src) and src[i] != "`":
            escaped = src[i] == "\\" and src[i + 1 : i + 2] in ("$", "`", "\\")
            inner.append(src[i + 1] if escaped else src[i])
            i += 2 if escaped else 1
        if i >= len(src):
            raise Unparsable("an unterminated backtick")
        self.syntax.substitution("command substitution")
        _Reader("".join(inner), self.syntax, self.depth + 1).parse()
        text = src[self.i : i + 1]
        self.i = i + 1
        return text, False

    def _read_heredocs(self) -> None:
        for delimiter, expands, strips in self.heredocs:
            body: list[str] = []
            while self.i < len(self.src):
                end = self.src.find("\n", self.i) % (len(self.src) + 1)  # -1: the end
                line, self.i = self.src[self.i : end], end + 1
                if (line.lstrip("\t") if strips else line) == delimiter:
                    break
                if expands and line.endswith("\\"):
                    raise Unparsable("a here-document line ending in a backslash")
                body.append(line)
            else:
                raise Unparsable("an unterminated here-document")
            if expands:
                _Reader("\n".join(body), self.syntax, self.depth + 1)._double_quoted("")
        self.heredocs.clear()

