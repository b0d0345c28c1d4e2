"""Secrets redaction for what the API returns: API keys, tokens, credentials in assignments and
private keys are replaced by ``[REDACTED]`` (a recognisable prefix such as ``sk-`` or ``ghp_`` is
kept). The store keeps the raw text; the web layer redacts when it shapes JSON and SSE frames.

Redaction is best effort by pattern: a secret split across two streamed tokens is caught once the
message is read back whole, not in the token events themselves.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "[REDACTED]"

# Each alternative has a named group ``keep`` (the part shown) and the secret after it.
_PATTERNS = [
    # PEM private keys, also an unterminated block (a key still being streamed).
    r"(?P<pem>-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----)(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|[\s\S]*)",
    # Authorization headers and bare bearer tokens.
    r"(?P<auth>\bAuthorization\s*[:=]\s*[\"']?(?:Bearer|Basic|Token|Bot)\s+)[^\s\"',;]+",
    r"(?P<bearer>\bBearer\s+)[A-Za-z0-9._~+/=\-]{12,}",
    # Provider keys: OpenAI/Anthropic (sk-, sk-ant-, sk-proj-), Stripe, GitHub, AWS, Slack, Google.
    r"(?<![A-Za-z0-9])(?P<sk>sk-(?:ant-|proj-|or-|live-|test-)?)(?=[A-Za-z_\-]*[0-9])[A-Za-z0-9_\-]{16,}",
    r"(?<![A-Za-z0-9])(?P<stripe>[sr]k_(?:live|test)_)[A-Za-z0-9]{12,}",
    r"(?<![A-Za-z0-9])(?P<gh>gh[pousr]_)[A-Za-z0-9]{20,}",
    r"(?<![A-Za-z0-9])(?P<ghpat>github_pat_)[A-Za-z0-9_]{20,}",
    r"(?<![A-Za-z0-9])(?P<aws>(?:AKIA|ASIA))[0-9A-Z]{16}(?![0-9A-Z])",
    r"(?<![A-Za-z0-9])(?P<slack>xox[abposr]-)[A-Za-z0-9\-]{10,}",
    r"(?<![A-Za-z0-9])(?P<google>AIza)[0-9A-Za-z_\-]{30,}",
    r"(?<![A-Za-z0-9_\-])(?P<jwt>eyJ)[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
    # Environment-style assignments: OPENAI_API_KEY=..., GITHUB_TOKEN: ..., PASSWORD="...".
    r"(?P<env>\b(?:[A-Z][A-Z0-9_]*_)?(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD|PAT)\s*[=:]\s*[\"']?)"
    r"(?![\"']|\[REDACTED\])[^\s\"']+",
    # JSON/YAML style: "api_key": "...", password: ..., client_secret=...
    r"(?i:(?P<kv>[\"']?\b(?:api[_-]?key|access[_-]?key|secret[_-]?key|access[_-]?token|auth[_-]?token"
    r"|refresh[_-]?token|client[_-]?secret|password|passwd)[\"']?\s*[:=]\s*[\"']?))"
    r"(?![\"']|\[REDACTED\])[^\s\"',;}]{4,}",
]
_SECRET = re.compile("|".join(f"(?:{p})" for p in _PATTERNS))
_PEM_END = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----")
# Every pattern needs one of these (lower-cased); most text has none and skips the regex.
_TRIGGERS = ("sk-", "k_live_", "k_test_", "gh", "akia", "asia", "xox", "aiza", "eyj", "bearer", "authorization",
             "private key", "key", "token", "secret", "passw", "pat")


def _replace(match: re.Match[str]) -> str:
    group = match.lastgroup
    keep = match.group(group) if group else ""
    if group == "pem":
        end = _PEM_END.search(match.group(0))
        return f"{keep}\n{MASK}\n{end.group(0)}" if end else f"{keep}\n{MASK}"
    return f"{keep}{MASK}"


def redact_text(text: str) -> str:
    """``text`` with every recognised secret replaced; the same string object when nothing matched."""
    if len(text) < 8:
        return text
    lowered = text.lower()
    if not any(trigger in lowered for trigger in _TRIGGERS):
        return text
    return _SECRET.sub(_replace, text)


def redact_obj(value: Any) -> Any:
    """A copy of a JSON-like value (dicts, lists, strings) with every string redacted. Keys are kept."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: redact_obj(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_obj(item) for item in value]
    return value
