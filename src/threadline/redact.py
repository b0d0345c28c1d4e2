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
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ahocorasick_rs import BytesAhoCorasick

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

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
# The only characters that ``_fold`` turns into an ASCII letter besides A-Z (tests/security/
# test_redact_anchors.py checks every code point): an anchor may occur in the folded text through them.
FOLDED_INTO = {"i": "\u0130", "k": "\u212a"}


def _spellings(anchor: str) -> list[bytes]:
    """The UTF-8 byte strings that ``bytes.lower`` leaves as something ``_fold`` makes ``anchor``."""
    spellings = [""]
    for char in anchor:
        options = (char, FOLDED_INTO[char]) if char in FOLDED_INTO else (char,)
        spellings = [start + option for start in spellings for option in options]
    return [spelling.encode() for spelling in spellings]


_SPELLINGS = [(anchor, spelling) for anchor in ANCHORS for spelling in _spellings(anchor)]
_ANCHOR_SEARCH = BytesAhoCorasick([spelling for _anchor, spelling in _SPELLINGS])


SCAN_CHARS = 4096  # from here on, one substring scan per anchor costs little beside the text itself
# Below ``SHORT_CHARS`` (a streamed token), a regular expression of the same spellings decides whether
# any anchor occurs at all. ahocorasick_rs releases the GIL on every call, and getting it back waits
# for any other busy thread's switch interval (5 ms): 600 us per call instead of 1 us, per token.
SHORT_CHARS = 32
_ANCHOR_ANY = re.compile(b"|".join(re.escape(spelling) for _anchor, spelling in _SPELLINGS))


def anchors_in(text: str) -> set[str]:
    """The anchors that occur in ``_fold(text)``. A text of a few KB (most strings of a transcript) is
    searched in one pass for all of them: Aho-Corasick over its UTF-8 lower-cased as bytes (A-Z only,
    so every spelling that folds into an anchor is searched; a lone surrogate passes); without any
    anchor that is one call, no list. A very short one (a streamed token) is searched the same way by
    a regular expression, which keeps the GIL. A long one is scanned once per anchor, which never
    lists its matches (1 MB of ``ghp_ghp_...`` has 250,000)."""
    if len(text) >= SCAN_CHARS:
        return _scanned(text)
    data = text.encode("utf-8", "surrogatepass").lower()
    if len(text) < SHORT_CHARS:
        return _scanned(text) if _ANCHOR_ANY.search(data) else set()
    if not _ANCHOR_SEARCH.find_matches_as_indexes(data):  # leftmost matches, not overlapping: any at all?
        return set()
    found = _ANCHOR_SEARCH.find_matches_as_indexes(data, overlapping=True)
    return {_SPELLINGS[index][0] for index, _start, _end in found}


def _scanned(text: str) -> set[str]:
    lowered = _fold(text)
    return {anchor for anchor in ANCHORS if anchor in lowered}


class Memo(Generic[K, V]):
    """Values by their exact input, bounded by the size of the inputs it holds (``size``, by default
    their length), the oldest dropped first. Keyed by the input itself, so it never answers for
    another input. Reads take no lock (a dict read is atomic); writes do, as responses are shaped in
    worker threads. Here: redacted texts by text, so a message's text is redacted once per process
    rather than on every response that carries it; ``web/responses.py`` keeps encoded messages by
    their encoding, ``sessions/branches.py`` messages' public form by their row."""

    def __init__(self, limit: int, size: Callable[[K], int] = len) -> None:  # type: ignore[assignment]
        self.limit = limit
        self.size = size
        self._items: dict[K, V] = {}
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    def put(self, key: K, value: V) -> None:
        with self._lock:
            if key in self._items:
                return
            self._items[key] = value
            self._size += self.size(key)
            while self._size > self.limit:
                oldest = next(iter(self._items))
                del self._items[oldest]
                self._size -= self.size(oldest)


MEMO_MIN_CHARS = 64  # shorter texts cost less to redact than to remember
MEMO: Memo[str, str] = Memo(limit=16 * 1024 * 1024)  # characters: a 1 MB session sixteen times; "": unchanged


def redact_text(text: str) -> str:
    """``text`` with every recognised secret replaced; the same string object when nothing matched."""
    if len(text) < MEMO_MIN_CHARS:
        return _redact(text)
    known = MEMO.get(text)
    if known is None:
        redacted = _redact(text)
        MEMO.put(text, "" if redacted is text else redacted)  # "": nothing to redact
        return redacted
    return known or text


def _redact(text: str) -> str:
    if len(text) < 8:
        return text
    present = anchors_in(text)  # a pattern whose anchor is not in the folded text cannot match
    if not present:
        return text
    lowered = _fold(text)
    folded, folded_of = lowered, text
    for rule in RULES:
        if rule.anchor not in present:
            continue
        if rule.folded and folded_of is not text:
            folded, folded_of = _fold(text), text
        text = rule.apply(text, folded if rule.folded else text)
    return text


def redact_obj(value: Any) -> Any:
    """A JSON-like value (dicts, lists, strings) with every string redacted; keys are kept. Containers
    that hold no changed string come back as they are (most of a transcript holds no secret), the
    others as copies, so ``value`` itself is never changed."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        changed: dict[Any, Any] | None = None
        for key, item in value.items():
            redacted = redact_obj(item)
            if redacted is not item:
                if changed is None:
                    changed = dict(value)
                changed[key] = redacted
        return value if changed is None else changed
    if isinstance(value, list | tuple):
        items: list[Any] | None = None
        for index, item in enumerate(value):
            redacted = redact_obj(item)
            if redacted is not item:
                if items is None:
                    items = list(value)
                items[index] = redacted
        return value if items is None else items
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
