"""Side questions (btw) and background agents, whose answers are never lost (reference §4 lost both).

btw: the agent answers a question with a snapshot of the parent's context and no tools; it runs in a
hidden ``btw`` session, and the question and answer are stored in the parent as a side exchange
(``side: "btw"``, ``in_context: false``): shown to the user, never sent to the model.

background: the prompt runs with tools in a hidden ``background`` session, tracked by a
``background_tasks`` row. Its answer is written into the parent exactly once (the ``delivered`` flag
flips in the same transaction as the insert), when the parent has no live run, as a message marked
``background`` that is part of the model's context from then on.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from sqlalchemy import select, update

from threadline.agent.tools.registry import ToolRegistry
from threadline.errors import BadRequest, NotFound
from threadline.runs.context import model_history
from threadline.runs.live import LiveRun
from threadline.runs.manager import RunManager, RunSpec, new_run_id
from threadline.sessions.service import NewMessage, check_session_id
from threadline.store import tables as t

log = logging.getLogger("threadline.runs.side")

MAX_PROMPT_CHARS = 100_000
PREVIEW = 80


def _check_text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{name} is required")
    if len(value) > MAX_PROMPT_CHARS:
        raise BadRequest(f"{name} is longer than {MAX_PROMPT_CHARS} characters")
    return value.strip()


class SideRuns:
    def __init__(self, runs: RunManager) -> None:
        self.runs = runs
        self.sessions = runs.sessions
        self.store = runs.store
        runs.idle_hooks.append(self.deliver_pending)

    # -- btw -------------------------------------------------------------------------------------

    async def btw(self, parent_id: str, question: str) -> dict[str, Any]:
        question = _check_text(question, "question")
        parent = await self.sessions.get(check_session_id(parent_id), messages=False)
        if parent["kind"] != "chat":
            raise BadRequest("btw needs a chat session")
        provider, model, model_ref = await self.runs._resolve_model(None, parent["model"])
        snapshot = model_history(await self.sessions.context_messages(parent_id))
        run_id = new_run_id()
        async with self.store.write() as conn:
            row = await self.sessions.materialize(conn, parent_id)
            hidden = await self.sessions.create_row(
                conn, kind="btw", parent_id=parent_id, title=f"btw: {question[:60]}", workspace=row["workspace"],
                model=row["model"],
            )
            await self.sessions.append_message(
                conn, parent_id,
                NewMessage(role="user", content=question, in_context=False, meta={"side": "btw", "btw_id": run_id}),
            )
            await self.runs._claim(conn, run_id, hidden["id"], model_ref, {"message": question}, kind="btw")

        async def on_success(_live: LiveRun, answer: str) -> None:
            await self._side_answer(parent_id, run_id, answer or "(no answer)", "complete")

        async def on_end(_live: LiveRun, status: str) -> None:
            if status != "succeeded":
                await self._side_answer(parent_id, run_id, f"*(no answer: the side question {status})*", "error")

        spec = RunSpec(
            kind="btw", tools=ToolRegistry([]), history=[*snapshot, {"role": "user", "content": question}],
            on_success=on_success, on_end=on_end,
        )
        self.runs._launch(run_id, hidden["id"], provider, model, parent["workspace"], spec)
        return {"stream_id": run_id, "session_id": hidden["id"], "parent_session_id": parent_id}

    async def _side_answer(self, parent_id: str, btw_id: str, content: str, status: str) -> None:
        async with self.store.write() as conn:
            if await self.sessions.row(conn, parent_id) is None:
                return  # the parent was deleted meanwhile
            await self.sessions.append_message(
                conn, parent_id,
                NewMessage(role="assistant", content=content, status=status, in_context=False,
                           meta={"side": "btw", "btw_id": btw_id}),
            )

    # -- background ------------------------------------------------------------------------------

    async def background(self, parent_id: str, prompt: str) -> dict[str, Any]:
        prompt = _check_text(prompt, "prompt")
        parent = await self.sessions.get(check_session_id(parent_id), messages=False)
        if parent["kind"] != "chat":
            raise BadRequest("background tasks need a chat session")
        provider, model, model_ref = await self.runs._resolve_model(None, parent["model"])
        task_id, run_id = uuid.uuid4().hex[:8], new_run_id()
        async with self.store.write() as conn:
            row = await self.sessions.materialize(conn, parent_id)
            hidden = await self.sessions.create_row(
                conn, kind="background", parent_id=parent_id, title=f"bg: {prompt[:60]}",
                workspace=row["workspace"], model=row["model"],
            )
            await conn.execute(t.background_tasks.insert().values(
                id=task_id, parent_id=parent_id, session_id=hidden["id"], run_id=run_id, prompt=prompt,
                status="running", created_at=time.time(),
            ))
            await self.runs._claim(conn, run_id, hidden["id"], model_ref, {"message": prompt}, kind="background")
        answers: dict[str, str] = {}

        async def on_success(_live: LiveRun, answer: str) -> None:
            answers["answer"] = answer

        async def on_end(_live: LiveRun, status: str) -> None:
            await self._finish_task(task_id, status, answers.get("answer"))

        spec = RunSpec(kind="background", on_success=on_success, on_end=on_end)
        self.runs._launch(run_id, hidden["id"], provider, model, parent["workspace"], spec)
        return {"task_id": task_id, "stream_id": run_id, "session_id": hidden["id"], "parent_session_id": parent_id}

    async def _finish_task(self, task_id: str, status: str, answer: str | None) -> None:
        b = t.background_tasks
        async with self.store.write() as conn:
            await conn.execute(
                update(b).where(b.c.id == task_id, b.c.status == "running")
                .values(status=status, answer=answer, finished_at=time.time())
            )
        await self.deliver(task_id)

    async def deliver(self, task_id: str) -> bool:
        """Write a finished task's result into its parent, once, when the parent has no live run."""
        b = t.background_tasks
        async with self.store.write() as conn:
            task = (await conn.execute(select(b).where(b.c.id == task_id))).mappings().first()
            if task is None or task["delivered"] or task["status"] == "running":
                return False
            parent = await self.sessions.row(conn, task["parent_id"])
            if parent is None or parent["active_run_id"] is not None:
                return False  # the parent's idle hook delivers it when its run ends
            claimed = await conn.execute(
                update(b).where(b.c.id == task_id, b.c.delivered.is_(False)).values(delivered=True)
            )
            if claimed.rowcount != 1:
                return False
            meta = {"background": {"task_id": task_id, "prompt": task["prompt"], "session_id": task["session_id"],
                                   "status": task["status"]}}
            title = task["prompt"][:PREVIEW]
            if task["status"] == "succeeded":
                message = NewMessage(role="assistant", content=f"**Background:** {title}\n\n{task['answer'] or ''}",
                                     meta=meta)
            else:
                status = "interrupted" if task["status"] == "interrupted" else "error"
                message = NewMessage(role="assistant", content=f"**Background task {task['status']}:** {title}",
                                     status=status, in_context=False, meta=meta)
            await self.sessions.append_message(conn, task["parent_id"], message)
        return True

    async def deliver_pending(self, session_id: str) -> None:
        b = t.background_tasks
        async with self.store.read() as conn:
            rows = await conn.execute(
                select(b.c.id).where(b.c.parent_id == session_id, b.c.delivered.is_(False), b.c.status != "running")
            )
            task_ids = [r.id for r in rows]
        for task_id in task_ids:
            await self.deliver(task_id)

    async def status(self, parent_id: str) -> dict[str, Any]:
        b = t.background_tasks
        async with self.store.read() as conn:
            rows = list((await conn.execute(
                select(b).where(b.c.parent_id == check_session_id(parent_id)).order_by(b.c.created_at)
            )).mappings())
        tasks = [
            {"task_id": r["id"], "prompt": r["prompt"], "status": r["status"], "session_id": r["session_id"],
             "stream_id": r["run_id"], "created_at": r["created_at"], "finished_at": r["finished_at"],
             "answer": r["answer"], "delivered": r["delivered"]}
            for r in rows
        ]
        results = [
            {"task_id": x["task_id"], "prompt": x["prompt"], "answer": x["answer"] or "",
             "completed_at": x["finished_at"], "status": x["status"]}
            for x in tasks if x["status"] != "running"
        ]
        return {"tasks": tasks, "results": results, "running": sum(1 for x in tasks if x["status"] == "running")}

    async def cancel_task(self, task_id: str) -> dict[str, Any]:
        b = t.background_tasks
        async with self.store.read() as conn:
            task = (await conn.execute(select(b).where(b.c.id == task_id))).mappings().first()
        if task is None:
            raise NotFound(f"background task not found: {task_id}")
        cancelled = await self.runs.cancel(task["run_id"]) if task["status"] == "running" else False
        return {"ok": True, "cancelled": cancelled, "task_id": task_id}

    async def cancel_children(self, parent_id: str) -> None:
        """Stop the btw and background runs of a session that is about to be deleted."""
        s = t.sessions
        async with self.store.read() as conn:
            rows = await conn.execute(
                select(s.c.active_run_id).where(s.c.parent_id == parent_id, s.c.active_run_id.is_not(None))
            )
            run_ids = [r.active_run_id for r in rows]
        for run_id in run_ids:
            await self.runs.cancel(run_id)

    async def reconcile(self) -> int:
        """Tasks whose run ended without telling them (a crash) take the run's status; parents hear."""
        b, r = t.background_tasks, t.runs
        async with self.store.write() as conn:
            rows = (await conn.execute(
                select(b.c.id, r.c.status).join(r, r.c.id == b.c.run_id, isouter=True)
                .where(b.c.status == "running")
            )).all()
            stale = [(task_id, status or "interrupted") for task_id, status in rows if status != "running"]
            for task_id, status in stale:
                await conn.execute(update(b).where(b.c.id == task_id)
                                   .values(status=status if status != "succeeded" else "interrupted",
                                           finished_at=time.time()))
        for task_id, _status in stale:
            await self.deliver(task_id)
        async with self.store.read() as conn:
            waiting = await conn.execute(select(b.c.id).where(b.c.delivered.is_(False), b.c.status != "running"))
            undelivered = [x.id for x in waiting]
        for task_id in undelivered:
            await self.deliver(task_id)
        return len(stale)
