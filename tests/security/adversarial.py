"""Adversarial inputs for secrets redaction: for every rule of ``threadline.redact``, texts of a given
size built to make a backtracking regex work hard (repeated anchors, near misses that fail late,
unterminated blocks, long runs of the characters a rule scans). Used by the linear-time test and by
``bench/redact.py``."""

from __future__ import annotations

import random


def repeat(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def fill(head: str, unit: str, size: int, tail: str = "") -> str:
    """``head``, then ``unit`` repeated, then ``tail``: ``size`` characters in all."""
    return head + repeat(unit, size - len(head) - len(tail)) + tail


FRAGMENTS = ("sk-", "sk-ant-", "ghp_", "github_pat_", "AKIA", "xoxb-", "AIza", "eyJ", ".", "-----BEGIN ",
             "RSA ", "PRIVATE KEY-----", "-----END ", "Bearer", "Authorization", ": ", "=", " ", "\n", "KEY",
             "TOKEN", "_", "api_key", "Password", '"', "'", "a", "Z", "7", "-", "[REDACTED]", "\u0130")


def mixed(size: int, seed: int = 7) -> str:
    """Random concatenations of every rule's fragments."""
    rng = random.Random(seed)
    parts: list[str] = []
    length = 0
    while length < size:
        part = rng.choice(FRAGMENTS)
        parts.append(part)
        length += len(part)
    return "".join(parts)[:size]


def corpus(size: int) -> dict[str, dict[str, str]]:
    """rule name -> case name -> text of ``size`` characters."""
    n = size
    return {
        "pem": {
            "repeated unterminated headers": repeat("-----BEGIN RSA PRIVATE KEY-----", n),
            "repeated BEGIN": repeat("-----BEGIN ", n),
            "one header, words without end": fill("-----BEGIN ", "AB ", n),
            "header then fake footers": fill("-----BEGIN PRIVATE KEY-----\n", "-----END ", n),
            "footer words without end": fill("-----BEGIN PRIVATE KEY-----\n-----END ", "AB ", n),
            "many whole keys": repeat("-----BEGIN EC PRIVATE KEY-----\nMIIE\n-----END EC PRIVATE KEY-----\n", n),
            "dashes": repeat("-", n),
        },
        "auth": {
            "repeated name": repeat("Authorization: ", n),
            "name then spaces": fill("Authorization:", " ", n),
            "repeated scheme": repeat("Authorization: Bearer ", n),
            "scheme then spaces": fill("Authorization: Bearer", " ", n),
            "short values": repeat("Authorization=Token x;", n),
        },
        "bearer": {
            "repeated": repeat("Bearer ", n),
            "then spaces": fill("Bearer", " ", n, "x"),
            "near misses": repeat("Bearer " + "a" * 11 + " ", n),
            "chained": repeat("Bearer Bearer.", n),
            "one long token": fill("Bearer ", "a", n),
        },
        "sk": {
            "repeated prefix": repeat("sk-", n),
            "repeated long prefix": repeat("sk-ant-", n),
            "one long run without digit": fill("sk-", "a", n),
            "near misses": repeat("sk-" + "a" * 15 + " ", n),
            "no digit": repeat("sk-proj-" + "a" * 20 + " ", n),
            "digit at the very end": fill("", "sk-", n, "1"),
        },
        "stripe": {
            "repeated prefix": repeat("sk_live_", n),
            "near misses": repeat("rk_test_" + "a" * 11 + " ", n),
            "one long run": fill("sk_live_", "a", n),
        },
        "gh": {
            "repeated prefix": repeat("ghp_", n),
            "near misses": repeat("ghp_" + "a" * 19 + " ", n),
            "gh": repeat("gh", n),
        },
        "ghpat": {
            "repeated prefix": repeat("github_pat_", n),
            "near misses": repeat("github_pat_" + "a" * 19 + " ", n),
        },
        "aws": {
            "repeated prefix": repeat("AKIA", n),
            "near misses": repeat("ASIA" + "A" * 15 + " ", n),
            "too long": fill("AKIA", "A", n),
        },
        "slack": {
            "repeated prefix": repeat("xoxb-", n),
            "near misses": repeat("xoxp-" + "a" * 9 + " ", n),
        },
        "google": {
            "repeated prefix": repeat("AIza", n),
            "near misses": repeat("AIza" + "a" * 29 + " ", n),
        },
        "jwt": {
            "repeated prefix": repeat("eyJ", n),
            "one part": repeat("eyJ" + "a" * 8 + ".", n),
            "two parts": repeat("eyJaaaaaaaa.eyJaaaaaaaa.", n),
            "short third part": repeat("eyJaaaaaaaa.eyJaaaaaaaa.aaaaaaa ", n),
        },
        "env": {
            "repeated assignment": repeat("KEY=", n),
            "repeated keyword": repeat("KEY", n),
            "long name": fill("", "A_", n, "KEY"),
            "upper-case run": fill("", "A", n, "_KEY="),
            "keyword then spaces": fill("TOKEN", " ", n),
            "spaced assignments": repeat("PASSWORD: ", n),
            "quotes": repeat("X_TOKEN=\"", n),
        },
        "kv": {
            "repeated assignment": repeat("api_key: ", n),
            "repeated keyword": repeat("api_key", n),
            "keyword then spaces": fill('"password"', " ", n),
            "short values": repeat("password=abc ", n),
            "mixed case": repeat("Client-Secret:", n),
            "quotes": repeat("access_token=\"'", n),
            "dotted capital I": repeat("\u0130 api_key: x", n),
        },
        "all": {"mixed fragments": mixed(n)},
    }
