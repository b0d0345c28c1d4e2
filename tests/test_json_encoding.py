"""orjson behind ``jsonvalues.encode_json`` and ``decode_json`` (issue 11 item 2) changes nothing but the
speed: out, the bytes are the standard library's compact encoding, byte for byte; in, the value is what
``json.loads`` reads, made readable. Checked on the values where the two libraries part ways (floats
in [1e-9, 1e-4), integers past 64 bits, keys that are not strings, lone surrogates, NaN, deep nesting)
and on whole ``GET /api/session`` answers."""

from __future__ import annotations

import json
import math
import random
import struct
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.support import chat_session
from threadline.jsonvalues import decode_json, encode_json, readable, repaired
from threadline.store import tables as t


def standard(value: Any) -> bytes:
    """The encoder before orjson: the standard library, compact, a non-finite number as null, a lone
    surrogate as U+FFFD."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except ValueError:
        text = json.dumps(repaired(value), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode()


def floats(count: int = 3000) -> list[float]:
    rng = random.Random(11)
    values = [1e-05, 1.5e-05, 9.99e-05, 1e-04, 1e-06, 2.5e-07, 1e-09, 9e-10, 1e-10, 1e16, 1e22, 5e-324, -0.0,
              0.1, 1780000000.123456, 1.7976931348623157e308, 0.00001234, -4.2e-08]
    for _ in range(count):
        values.append(rng.uniform(-1, 1) * 10.0 ** rng.randint(-12, 20))
        bits = struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0]
        if math.isfinite(bits):
            values.append(bits)
    return values


def deep(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = {"a": [value]}
    return value


CORPUS: list[Any] = [
    {"f": floats()},
    [2**63, 2**64, -(2**63) - 1, 10**30, -(10**40), 18446744073709551615],
    {1: "int key", None: "none key", 2.5: "float key", False: "bool key"},
    {"text": "é 日本語 🧵 \u2028\u2029 \x00\x01\x1f\x7f \"quoted\" back\\slash / \b\f\n\r\t"},
    {"lone": "a\ud800b", "pair": "\ud83d\ude00", "key\udc00": 1, "nested": ["x\udfff"]},
    {"nan": float("nan"), "inf": [float("inf"), -float("inf")], "with": "text\ud800"},
    {"tuple": (1, "two", 3.0), "empty": {}, "list": [], "bool": [True, False, None]},
    deep(300),
    {"cost": 1e-05, "text": "mentions 0.00001 and e-5 in words", "plain": "one-time re-run"},
]


@pytest.mark.parametrize("value", CORPUS, ids=range(len(CORPUS)))
def test_encoded_bytes_are_the_standard_librarys(value: Any) -> None:
    assert encode_json(value) == standard(value)


def test_every_float_is_written_as_python_writes_it() -> None:
    for value in floats():
        assert encode_json([value]) == standard([value]), value


TEXTS = [
    '{"a": 1, "b": [1.5, -0.0, 1e-05, 2.5e-07, "x"], "c": null, "d": true}',
    '{"big": 18446744073709551616, "neg": -9223372036854775809, "edge": 9223372036854775807}',
    '[1234567890123456789, 12345678901234567890123, "1234567890123456789012 in a string"]',
    '{"lone": "a\\ud800b", "key\\udc00": ["\\udfff"]}',
    '[NaN, Infinity, -Infinity, 1e400, "text"]',
    '{"pair": "\\ud83d\\ude00", "escaped": "\\u00e9\\n\\t\\"", "raw": "日本語"}',
    "[" * 500 + "]" * 500,
    '{"a": 1, "a": 2}',
]


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_decoded_values_are_what_json_loads_reads_made_readable(text: str) -> None:
    expected = readable(json.loads(text))
    decoded = decode_json(text)
    assert decoded == expected or (expected != expected)  # NaN never equals itself; repaired has none
    assert json.dumps(decoded) == json.dumps(expected)  # also the types: 2**64 stays an int


async def test_a_session_answers_with_the_standard_librarys_bytes(client: httpx.AsyncClient, app: FastAPI) -> None:
    """A session whose rows hold secrets, floats where the libraries differ, big integers, non-ASCII text
    and a planted lone surrogate: the answer is exactly the standard library's encoding of its value."""
    session_id = await chat_session(client, app, first="my key is sk-proj-Abc123def456GHI789jkl012MNO345 ok",
                                    messages=4)
    async with app.state.services.store.write() as conn:
        await conn.execute(t.sessions.update().where(t.sessions.c.id == session_id).values(
            estimated_cost=1.5e-05, extra={"big": 2**63, "tiny": 2.5e-07, "k\ud800": "v"}))
        await conn.execute(t.messages.update().where(t.messages.c.session_id == session_id).values(
            meta={"ratio": 1e-05, "count": 12345678901234567890, "note": "café 🧵 \ud800"},
            tool_calls=[{"id": "c1", "function": {"name": "f", "arguments": '{"password": "hunter2hunter2"}'}}]))
    for params in ({}, {"msg_limit": 2}):
        response = await client.get("/api/session", params={"session_id": session_id, **params})
        assert response.status_code == 200
        value = response.json()
        assert response.content == standard(value)
        assert "sk-proj-Abc123def456GHI789jkl012MNO345" not in response.text and "hunter2" not in response.text
        session = value["session"]
        assert session["estimated_cost"] == 1.5e-05 and session["extra"] == {"big": 2**63, "tiny": 2.5e-07,
                                                                             "k\ufffd": "v"}
        assert session["messages"][-1]["count"] == 12345678901234567890
        assert session["messages"][-1]["note"] == "café 🧵 \ufffd"
