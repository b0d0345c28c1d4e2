"""Side questions (btw) and background agents, whose answers are never lost (reference §4 lost both).
Both start through the run layer's public API (``RunManager.transaction``).

btw: the agent answers a question with a snapshot of the parent's context and no tools; it runs in a
hidden ``btw`` session, and the question and answer are stored in the parent as a side exchange
(``side: "btw"``, ``in_context: false``): shown to the user, never sent to the model.

background: the prompt runs with tools in a hidden ``background`` session, tracked by a
``background_tasks`` row; ``runs/delivery.py`` writes its answer into the parent exactly once.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy import select

from threadline.agent.tools.registry import ToolRegistry
from threadline.errors import BadRequest, NotFound
from threadline.runs.context import model_history
from threadline.runs.live import LiveRun
from threadline.runs.manager import RunManager
from threadline.runs.starts import RunSpec, new_run_id
from threadline.sessions.rows import NewMessage
from threadline.sessions.service import check_session_id
from threadline.sessions.views import SessionDetail
from threadline.store import tables as t

MAX_PROMPT_CHARS = 100_000


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

    async def _parent(self, parent_id: str, what: str) -> tuple[SessionDetail, str | None]:
        parent = await self.sessions.get(check_session_id(parent_id), messages=False)
        if parent["kind"] != "chat":
            raise BadRequest(f"{what} needs a chat session")
        model = await self.runs.check_model(parent.get("runtime"), None, parent["model"])
        return parent, model

    # -- btw -------------------------------------------------------------------------------------

    async def btw(self, parent_id: str, question: str) -> dict[str, Any]:
        question = _check_text(question, "question")
        parent, model = await self._parent(parent_id, "btw")
        snapshot = model_history(await self.sessions.context_messages(parent_id))
        run_id = new_run_id()

        async def on_success(_live: LiveRun, answer: str) -> None:
            await self._side_answer(parent_id, run_id, answer or "(no answer)", "complete")

        async def on_end(_live: LiveRun, status: str) -> None:
            if status != "succeeded":
                await self._side_answer(parent_id, run_id, f"*(no answer: the side question {status})*", "error")

        spec = RunSpec(
            kind="btw", tools=ToolRegistry([]), history=[*snapshot, {"role": "user", "content": question}],
            on_success=on_success, on_end=on_end,
        )
        async with self.runs.transaction() as tx:
            row = await self.sessions.materialize(tx.conn, parent_id)
            hidden = await self.sessions.create_row(
                tx.conn, kind="btw", parent_id=parent_id, title=f"btw: {question[:60]}", workspace=row["workspace"],
                model=row["model"], runtime=row["runtime"],
            )
            await self.sessions.append_message(
                tx.conn, parent_id,
                NewMessage(role="user", content=question, in_context=False, meta={"side": "btw", "btw_id": run_id}),
            )
            await tx.claim(hidden["id"], question, model=model, spec=spec, run_id=run_id)
        return {"stream_id": run_id, "session_id": hidden["id"], "parent_session_id": parent_id}

    async def _side_answer(self, parent_id: str, btw_id: str, content: str, status: str) -> None:
        async with self.store.write(inline=True) as conn:
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
        _parent, model = await self._parent(parent_id, "background tasks")
        task_id, run_id = uuid.uuid4().hex[:8], new_run_id()
        async with self.runs.transaction() as tx:
            row = await self.sessions.materialize(tx.conn, parent_id)
            hidden = await self.sessions.create_row(
                tx.conn, kind="background", parent_id=parent_id, title=f"bg: {prompt[:60]}",
                workspace=row["workspace"], model=row["model"], runtime=row["runtime"],
            )
            await tx.conn.execute(t.background_tasks.insert().values(
                id=task_id, parent_id=parent_id, session_id=hidden["id"], run_id=run_id, prompt=prompt,
                status="running", created_at=time.time(),
            ))
            await tx.claim(hidden["id"], prompt, model=model, spec=RunSpec(kind="background"), run_id=run_id)
        return {"task_id": task_id, "stream_id": run_id, "session_id": hidden["id"], "parent_session_id": parent_id}

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
