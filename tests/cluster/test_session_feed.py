"""The session list's event stream across instances (issue 17 item 4): two real server processes
sharing PostgreSQL and Redis; a client of each hears of a rename, a pin and a deletion made through
the other at once, without a duplicate of its own instance's events."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.cluster.test_two_instances import Deployment, Instance, deployment, new_session  # noqa: F401
from tests.sse import FrameParser

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def feed_pair(deployment: Deployment) -> Iterator[tuple[Instance, Instance]]:  # noqa: F811
    a, b = deployment.start("feed-a"), deployment.start("feed-b")
    yield a, b
    a.stop()
    b.stop()


class Reader(threading.Thread):
    def __init__(self, instance: Instance) -> None:
        super().__init__(daemon=True)
        self.instance = instance
        self.changes: list[dict[str, Any]] = []
        self.ready = threading.Event()
        self.stop = False

    def run(self) -> None:
        parser = FrameParser()
        with httpx.Client(base_url=self.instance.url, timeout=httpx.Timeout(30, read=3)) as client:
            try:
                with client.stream("GET", "/api/sessions/events") as response:
                    for line in response.iter_lines():
                        frame = parser.feed(line)
                        if frame and frame[1] == "ready":
                            self.ready.set()
                        elif frame and frame[1] == "sessions_changed":
                            self.changes.append(frame[2])
                        if self.stop:
                            return
            except httpx.ReadTimeout:
                return

    def wait_for(self, reason: str, sid: str, timeout: float = 2.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for change in list(self.changes):
                if change["reason"] == reason and change["session_id"] == sid:
                    return change
            time.sleep(0.02)
        raise AssertionError(f"{self.instance.name} did not hear {reason} of {sid}: {self.changes}")


def test_a_change_on_one_instance_reaches_readers_of_both(feed_pair: tuple[Instance, Instance]) -> None:
    a, b = feed_pair
    readers = [Reader(a), Reader(b)]
    for reader in readers:
        reader.start()
        assert reader.ready.wait(10)
    with a.client() as on_a, b.client() as on_b:
        sid = new_session(on_a)
        assert on_b.post("/api/session/rename", json={"session_id": sid, "title": "From B"}).status_code == 200
        for reader in readers:
            change = reader.wait_for("renamed", sid)
            assert change["title"] == "From B" and change["origin"] == "feed-b"
        assert on_a.post("/api/session/pin", json={"session_id": sid}).status_code == 200
        assert on_b.post("/api/session/delete", json={"session_id": sid}).status_code == 200
        for reader in readers:
            reader.wait_for("deleted", sid)
            assert [c["reason"] for c in reader.changes if c["session_id"] == sid] == [
                "created", "renamed", "pinned", "deleted"]  # each once, none echoed back
    for reader in readers:
        reader.stop = True
