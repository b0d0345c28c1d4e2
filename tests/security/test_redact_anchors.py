"""Which rules run on a text is decided by one Aho-Corasick pass for all anchors (issue 11 item 2), not one
substring scan per rule: it must find exactly the anchors the scans found, so redaction is unchanged,
on adversarial input, on non-ASCII text (U+0130 and the Kelvin sign fold to ASCII letters) and on text
holding a lone surrogate (SSE data may)."""

from __future__ import annotations

import random

import pytest

from tests.security.adversarial import FRAGMENTS, corpus, mixed
from threadline.redact import ANCHORS, RULES, _fold, anchors_in, redact_obj, redact_text


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
    found = [text for cases in corpus(2000).values() for text in cases.values()]
    found += [mixed(3000, seed) for seed in range(20)]
    extra = ("\u212aey", "\u0130", "S\u212a-", "é", "日本", "🧵", "\ud800", "\udfff", "\x00", "ſ", "K", "İ")
    pieces = FRAGMENTS + extra + ("password", "secret", "refresh_token", "client_secret", "auth_token", "asia")
    for _ in range(400):
        found.append("".join(rng.choice(pieces) for _ in range(rng.randint(1, 40))))
    return found


@pytest.mark.parametrize("text", texts())
def test_one_pass_finds_the_anchors_each_scan_found(text: str) -> None:
    lowered = _fold(text)
    assert anchors_in(lowered) == {anchor for anchor in ANCHORS if anchor in lowered}
    assert redact_text(text) == previous_redact_text(text)


def test_a_kelvin_sign_folds_into_an_anchor() -> None:
    text = "my api_\u212aey = abcdefgh1234"  # "K" (U+212A) lower-cases to an ASCII "k"
    assert "key" in anchors_in(_fold(text))
    assert redact_text(text) == previous_redact_text(text) != text


def test_a_value_without_secrets_comes_back_equal() -> None:
    value = {"messages": [{"content": "nothing secret here, just the keyboard and a path", "n": 1.5}] * 3}
    assert redact_obj(value) == value
