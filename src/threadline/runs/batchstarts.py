"""Chat turns that arrive together claim their sessions in one write, on SQLite (issue 18).

SQLite takes one writer at a time, and under load handing the turn from one waiting writer to the next
costs a trip round the busy event loop each: 200 people pressing Send at once queued behind each other
for seconds, though each claim's own statements take a millisecond or two. Here the turns waiting for
the writer are claimed together once it is free, up to ``BATCH`` in one write transaction, each in a
savepoint of its own (``Store.write`` inside a write): one that fails (409 while another run owns its
session, a session deleted meanwhile) is undone alone and answers its own error; the others commit
together and their runs start. On PostgreSQL, where writers do not queue, every turn has its own
transaction as before.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from threadline.runs.starts import ChatTurn, Claim, RunStarter
from threadline.runs.views import RunQueued, RunStarted

BATCH = 8  # turns claimed in one transaction at most: their statements run without a pause of the loop

Outcome = RunStarted | RunQueued


@dataclass
class _Turn:
    turn: ChatTurn
    queue: bool
    outcome: asyncio.Future[Outcome]


class StartBatcher:
    def __init__(self, starter: RunStarter, launch: Callable[[list[Claim]], None]) -> None:
        self._starter = starter
        self._launch = launch
        self._waiting: deque[_Turn] = deque()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # write transactions written (tests)

    async def start(self, turn: ChatTurn, *, queue: bool) -> Outcome:
        """Claim ``turn``'s session (``RunStarter.start``) in the next batch; its run is launched
        once that has committed. A caller that gives up does not undo its claim."""
        outcome: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Turn(turn, queue, outcome))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain(), name="chat-starts")
        return await asyncio.shield(outcome)

    async def _drain(self) -> None:
        try:
            while self._waiting:
                async with self._starter.store.turn():  # the batch is taken once the writer is ours
                    batch = [self._waiting.popleft() for _ in range(min(BATCH, len(self._waiting)))]
                    self.batches += 1
                    await self._claim(batch)
        finally:  # cancelled (the server stops): the turns not claimed end too, none waits for good
            while self._waiting:
                item = self._waiting.popleft()
                if not item.outcome.done():
                    item.outcome.cancel()

    async def _claim(self, batch: list[_Turn]) -> None:
        answers: list[tuple[_Turn, Outcome | None, Exception | None]] = []
        try:
            async with self._starter.transaction() as tx:
                for item in batch:
                    claimed = len(tx.claims)
                    try:
                        async with self._starter.store.write(inline=True):  # a savepoint of tx
                            answer = await self._starter.start(tx, item.turn, queue=item.queue)
                    except Exception as exc:  # noqa: BLE001 - this turn's own error, answered to it
                        del tx.claims[claimed:]
                        answers.append((item, None, exc))
                    else:
                        answers.append((item, answer, None))
        except BaseException as exc:
            for item in batch:
                if not item.outcome.done():
                    if isinstance(exc, Exception):
                        item.outcome.set_exception(exc)
                    else:
                        item.outcome.cancel()
            if not isinstance(exc, Exception):
                raise
            return
        self._launch(tx.claims)
        for item, answered, error in answers:
            if item.outcome.done():
                continue
            if error is not None:
                item.outcome.set_exception(error)
            elif answered is not None:
                item.outcome.set_result(answered)
