"""Secrets redaction for what the API returns: API keys, tokens, credentials in assignments and
private keys are replaced by ``[REDACTED]`` (a recognisable prefix such as ``sk-`` or ``ghp_`` is
kept). The store keeps the raw text, because the model needs it on the next turn; the web layer
redacts what it returns, so a response costs what its own text costs (docs/security.md).

Redaction is best effort by pattern: a secret split across two streamed tokens is caught once the
message is read back whole, not in the token events themselves.

Every rule takes time linear in the text, whatever the text (tests/security/test_redact_linear.py
checks 1 MB of adversarial input per rule; ``bench/redact.py`` measures it). How the patterns keep
that promise:

- each pattern starts with a literal anchor of two or more characters (``sk-``, ``Bearer``, ``api``,
  ``-----BEGIN ``), so the regex engine's literal search skips to the next anchor instead of trying
  every position, and a pattern whose anchor does not occur is not run at all; the "not inside a
  longer word" test is a fixed-width lookbehind placed *after* the anchor; which anchors occur is
  found in one pass over the text for all of them (an Aho-Corasick automaton), not one scan each;
- runs of token characters are possessive (``++``, ``{n,}+``): scanned once, never given back; every
  other quantifier has an upper bound, so a failed attempt costs a bounded number of steps;
- nothing looks ahead to the end of the text (the old "an ``sk-`` key holds a digit" lookahead did,
  which made 100 KB of ``sk-sk-sk-...`` take 40 s): the digit is checked on the matched run instead;
- the patterns run one after the other, so a run one pattern consumed without redacting stays
  visible to the others; case-insensitive ones match a lower-cased copy of the same length
  (``str.lower`` keeps the length of every character but U+0130, which is mapped first).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ahocorasick_rs import BytesAhoCorasick

MASK = "[REDACTED]"
_DIGIT = re.compile(r"[0-9]")
_NOT_REDACTED = r"(?![\"']|\[REDACTED\])"


@dataclass(frozen=True)
class Rule:
    """One pattern of one kind of secret (``name``). ``pattern`` starts with ``anchor`` and has a group
    ``keep`` (shown as it is) and may have ``end`` (shown after the mask: a PEM footer); the rest of
    the match is replaced by the mask."""

    name: str
    anchor: str  # lower-case; the pattern runs only on text whose lower-cased form contains it
    pattern: re.Pattern[str]
    folded: bool = False  # matched against the lower-cased text: the pattern ignores case
    digit: bool = False  # the part after ``keep`` must contain a digit, else the match is left alone

    def apply(self, text: str, subject: str) -> str:
        """``text`` redacted; ``subject`` is what the pattern reads: ``text`` or its lower-cased form."""
        pieces: list[str] = []
        append = pieces.append
        mask = "\n" + MASK if self.name == "pem" else MASK
        last = 0
        for match in self.pattern.finditer(subject):
            keep_end = match.end(1)  # group 1 is ``keep``
            last_end = match.end()
            if self.digit and _DIGIT.search(text, keep_end, last_end) is None:
                continue
            append(text[last:keep_end])
            append(mask)
            footer = match.start(2) if match.re.groups > 1 else -1  # group 2, if any, is ``end``
            if footer >= 0:
                append("\n")
                append(text[footer:last_end])
            last = last_end
        if not pieces:
            return text
        append(text[last:])
        return "".join(pieces)


def _fold(text: str) -> str:
    """``text`` lower-cased, one character for one (U+0130 is the only one str.lower expands)."""
    return text.replace("\u0130", "I").lower() if "\u0130" in text else text.lower()


def _token(name: str, anchor: str, keep_rest: str, secret: str, *, word: str = "A-Za-z0-9",
           digit: bool = False) -> Rule:
    """A token with a recognisable prefix (kept) that does not continue a word of ``word`` characters."""
    literal = re.escape(anchor)
    source = f"(?P<keep>{literal}(?<![{word}]{literal}){keep_rest}){secret}"
    return Rule(name, anchor.lower(), re.compile(source), digit=digit)


def _assignment(name: str, word: str, refuse: str, value: str, *, folded: bool = False) -> Rule:
    """A keyword, ``=`` or ``:``, then a value. ``word`` is ``anchor rest``: a literal, then a pattern;
    the keyword is refused where one of the ``|``-separated fixed-width patterns of ``refuse``
    matches just before it."""
    anchor, _, rest = word.partition(" ")
    guards = "".join(f"(?<!{guard}{anchor})" for guard in refuse.split("|"))
    not_redacted = _NOT_REDACTED.lower() if folded else _NOT_REDACTED
    source = (f"(?P<keep>{anchor}{guards}{rest}[\"']?\\s{{0,16}}[:=]\\s{{0,16}}[\"']?)"
              f"{not_redacted}{value}")
    return Rule(name, anchor.lower(), re.compile(source), folded=folded)


_HEADER = r"(?:[A-Z0-9]{1,40} ){0,8}PRIVATE KEY-----"
_ENV_VALUE = r"[^\s\"']++"
_KV_VALUE = r"[^\s\"',;}]{4,}+"

RULES: tuple[Rule, ...] = (
    # PEM private keys, also an unterminated block (a key still being streamed): the body is
    # everything up to the next "-----END " (or the end of the text).
    Rule("pem", "-----begin ", re.compile(rf"(?P<keep>-----BEGIN {_HEADER})(?:[^-]++|-(?!----END ))*+"
                                          rf"(?P<end>-----END {_HEADER})?")),
    # Authorization headers and bare bearer tokens.
    Rule("auth", "authorization", re.compile(
        r"(?P<keep>Authorization(?<!\wAuthorization)\s{0,16}[:=]\s{0,16}[\"']?(?:Bearer|Basic|Token|Bot)\s{1,16})"
        r"[^\s\"',;]++")),
    Rule("bearer", "bearer", re.compile(r"(?P<keep>Bearer(?<!\wBearer)\s{1,16})[A-Za-z0-9._~+/=\-]{12,}+")),
    # Provider keys: OpenAI/Anthropic (sk-, sk-ant-, sk-proj-), Stripe, GitHub, AWS, Slack, Google.
    _token("sk", "sk-", "(?:ant-|proj-|or-|live-|test-)?", r"[A-Za-z0-9_\-]{16,}+", digit=True),
    _token("stripe", "sk_", "(?:live|test)_", r"[A-Za-z0-9]{12,}+"),
    _token("stripe", "rk_", "(?:live|test)_", r"[A-Za-z0-9]{12,}+"),
    _token("gh", "gh", "[pousr]_", r"[A-Za-z0-9]{20,}+"),
    _token("ghpat", "github_pat_", "", r"[A-Za-z0-9_]{20,}+"),
    _token("aws", "AKIA", "", r"[0-9A-Z]{16}(?![0-9A-Z])"),
    _token("aws", "ASIA", "", r"[0-9A-Z]{16}(?![0-9A-Z])"),
    _token("slack", "xox", "[abposr]-", r"[A-Za-z0-9\-]{10,}+"),
    _token("google", "AIza", "", r"[0-9A-Za-z_\-]{30,}+"),
    _token("jwt", "eyJ", "", r"[A-Za-z0-9_\-]{8,}+\.eyJ[A-Za-z0-9_\-]{8,}+\.[A-Za-z0-9_\-]{8,}+",
           word=r"A-Za-z0-9_\-"),
    # Environment-style assignments: OPENAI_API_KEY=..., GITHUB_TOKEN: ..., PASSWORD="...". The
    # keyword starts a word, or follows "_" after an upper-case letter or a digit.
    *(_assignment("env", word, r"[^\W_]|[^A-Z0-9]_", _ENV_VALUE)
      for word in ("PASSW (?:OR)?D", "PAT ", "SECRET ", "TOKEN ", "KEY ")),
    # JSON/YAML style, any case: "api_key": "...", password: ..., client_secret=...
    *(_assignment("kv", word, r"\w", _KV_VALUE, folded=True)
      for word in ("api [_-]?key", "access [_-]?(?:key|token)", "secret [_-]?key", "auth [_-]?token",
                   "refresh [_-]?token", "client [_-]?secret", "passw (?:or)?d")),
)


ANCHORS = tuple(dict.fromkeys(rule.anchor for rule in RULES))
_ANCHOR_SEARCH = BytesAhoCorasick([anchor.encode() for anchor in ANCHORS])


def anchors_in(lowered: str) -> set[str]:
    """The anchors that occur in ``lowered``, all found in one pass over it (Aho-Corasick over its UTF-8,
    where an ASCII anchor occurs exactly where it occurs in the text; a lone surrogate passes)."""
    found = _ANCHOR_SEARCH.find_matches_as_indexes(lowered.encode("utf-8", "surrogatepass"), overlapping=True)
    return {ANCHORS[index] for index, _start, _end in found}


def redact_text(text: str) -> str:
    """``text`` with every recognised secret replaced; the same string object when nothing matched."""
    if len(text) < 8:
        return text
    lowered = _fold(text)  # of the original text: a pattern whose anchor is not in it cannot match
    present = anchors_in(lowered)
    if not present:
        return text
    folded, folded_of = lowered, text
    for rule in RULES:
        if rule.anchor not in present:
            continue
        if rule.folded and folded_of is not text:
            folded, folded_of = _fold(text), text
        text = rule.apply(text, folded if rule.folded else text)
    return text


def redact_obj(value: Any) -> Any:
    """A copy of a JSON-like value (dicts, lists, strings) with every string redacted. Keys are kept."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: redact_obj(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_obj(item) for item in value]
    return value


def text_size(value: Any, stop_at: int) -> int:
    """How many characters of text ``value`` carries, counted up to ``stop_at`` (the cost of redacting
    it, without paying it)."""
    total = 0
    stack = [value]
    while stack and total < stop_at:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return total
