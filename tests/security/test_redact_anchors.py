"""Which rules run on a text is decided by one Aho-Corasick pass for all anchors (issue 11 item 2), not one
substring scan per rule: it must find exactly the anchors the scans found, so redaction is unchanged,
on adversarial input, on non-ASCII text (U+0130 and the Kelvin sign fold to ASCII letters) and on text
holding a lone surrogate (SSE data may). A long text is redacted once per process (``MEMO``): the
memo answers only for the same text and stays within its bound."""

from __future__ import annotations

import random

import pytest

from tests.security.adversarial import FRAGMENTS, corpus, mixed
from threadline.redact import (
    ANCHORS,
    FOLDED_INTO,
    MEMO_MIN_CHARS,
    RULES,
    SHORT_CHARS,
    Memo,
    _fold,
    anchors_in,
    redact_obj,
    redact_text,
)


def previous_redact_text(text: str) -> str:
    """Redaction as it was: every rule whose anchor is a substring of the lower-cased text, in order."""
    if len(text) < 8:
        return text
    lowered = _fold(text)
    for rule in RULES:
        if rule.anchor in lowered:
            text = rule.apply(text, _fold(text) if rule.folded else text)
    return text


def texts() -> list[str]:
    rng = random.Random(5)
    found = [text for size in (2000, 5000) for cases in corpus(size).values() for text in cases.values()]
    found += [mixed(3000, seed) for seed in range(20)]
    extra = ("\u212aey", "\u0130", "S\u212a-", "é", "日本", "🧵", "\ud800", "\udfff", "\x00", "ſ", "K", "İ")
    pieces = FRAGMENTS + extra + ("password", "secret", "refresh_token", "client_secret", "auth_token", "asia")
    for _ in range(400):
        found.append("".join(rng.choice(pieces) for _ in range(rng.randint(1, 40))))
    return found


@pytest.mark.parametrize("text", texts())
def test_one_pass_finds_the_anchors_each_scan_found(text: str) -> None:
    lowered = _fold(text)
    assert anchors_in(text) == {anchor for anchor in ANCHORS if anchor in lowered}
    assert redact_text(text) == previous_redact_text(text)


def test_a_kelvin_sign_folds_into_an_anchor() -> None:
    text = "my api_\u212aey = abcdefgh1234"  # "K" (U+212A) lower-cases to an ASCII "k"
    assert "key" in anchors_in(text)
    assert redact_text(text) == previous_redact_text(text) != text


def test_every_character_that_folds_into_ascii_is_searched() -> None:
    """Searching the bytes lower-cased (A-Z only) finds an anchor spelled with any character that
    ``_fold`` makes an ASCII letter: this Python's Unicode tables add none to ``FOLDED_INTO``."""
    folds = {}
    for point in range(128, 0x110000):
        char = chr(point)
        if not 0xD800 <= point <= 0xDFFF and _fold(char).isascii():
            folds[_fold(char)] = char
    assert folds == FOLDED_INTO


def test_a_value_without_secrets_comes_back_equal() -> None:
    value = {"messages": [{"content": "nothing secret here, just the keyboard and a path", "n": 1.5}] * 3}
    assert redact_obj(value) == value


def test_the_memo_answers_for_the_same_text_only() -> None:
    secret = "deploy with OPENAI_API_KEY=hunter2hunter2 and then " + "words " * 20
    clean = "nothing to hide in this message, " * 4
    for _ in range(3):
        for text in (secret, clean, secret.replace("hunter2", "letmein"), clean.upper()):
            fresh = "".join(list(text))  # another string object with the same text, as a new request has
            assert redact_text(fresh) == previous_redact_text(text)
    fresh = "".join(list(clean))
    assert len(fresh) >= MEMO_MIN_CHARS and redact_text(fresh) is fresh  # unchanged: the caller's object


def test_the_memo_stays_within_its_bound() -> None:
    memo = Memo(limit=1000)
    texts = [f"{index:03d}" + "x" * 97 for index in range(25)]
    for text in texts:
        memo.put(text, "")
    assert memo.get(texts[0]) is None and memo.get(texts[-1]) == ""
    assert sum(memo.get(text) is not None for text in texts) == 10


def test_a_streamed_token_is_searched_without_releasing_the_gil(monkeypatch: pytest.MonkeyPatch) -> None:
    """ahocorasick_rs releases the GIL on every call, and taking it back waits out another busy
    thread's switch interval: a token's search stays in Python's own regular expressions."""
    class Released:
        def find_matches_as_indexes(self, *_args: object, **_kwargs: object) -> object:
            raise AssertionError("a short text reached the GIL-releasing search")

    monkeypatch.setattr("threadline.redact._ANCHOR_SEARCH", Released())
    for text in ("Hello", " world", "sk-", " api_\u212aey", "İ", "\ud800", "x" * (SHORT_CHARS - 1)):
        lowered = _fold(text)
        assert anchors_in(text) == {anchor for anchor in ANCHORS if anchor in lowered}
    with pytest.raises(AssertionError):
        anchors_in("x" * SHORT_CHARS)
