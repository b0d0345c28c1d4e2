"""Import a Hermes WebUI ``sessions/`` directory into the store (the ``threadline import hermes`` command
is in ``cli/imports.py``).

Every session with messages is imported with its title, timestamps, pin and archive flags, token totals,
cost and project. Ids are kept when free; the Hermes id is always recorded in ``extra.hermes_id``, which
is how a second run recognizes what it already imported: both sets are read once, up front. A file that
cannot be used is reported and skipped; it never stops the import.

Files are read and parsed in a worker thread, one batch ahead of the batch being written. Each batch is
one transaction of a few multi-row INSERTs (``store/bulk.py``), so the cost per session stays the same
whatever the number of sessions. When the database refuses a batch (a value PostgreSQL will not store,
an id taken meanwhile), its sessions are written one per transaction and only the bad ones are reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from threadline.errors import ThreadlineError
from threadline.sessions.hermes import HermesFile, epoch, read_projects, read_session_file, session_files
from threadline.sessions.projects import ProjectService
from threadline.sessions.service import SessionService, check_session_id, new_session_id
from threadline.sessions.transfer import PreparedSession, prepare_import, write_imports
from threadline.store import tables as t

DEFAULT_BATCH = 200
Progress = Callable[[int, int], None]  # (files handled so far, files in all)


@dataclass
class ImportReport:
    files: int = 0
    imported: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    dropped_messages: int = 0
    projects_created: int = 0
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        """0 when nothing failed, 1 when a file failed (the others are imported)."""
        return 1 if self.failed else 0


@dataclass
class _Admitted:
    file: HermesFile
    session: PreparedSession


def _valid_id(value: str) -> bool:
    try:
        check_session_id(value)
    except ThreadlineError:
        return False
    return True


def _read_all(paths: list[Path]) -> list[HermesFile]:
    return [read_session_file(path) for path in paths]


def _reason(exc: DBAPIError) -> str:
    text = str(exc.orig) if exc.orig is not None else str(exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


class HermesImporter:
    def __init__(
        self,
        sessions: SessionService,
        projects: ProjectService,
        *,
        batch_size: int = DEFAULT_BATCH,
        progress: Progress | None = None,
    ) -> None:
        self.sessions = sessions
        self.projects = projects
        self.store = sessions.store
        self.batch_size = max(1, batch_size)
        self.progress = progress
        self.ids: set[str] = set()
        self.hermes_ids: set[str] = set()
        self.project_map: dict[str, str] = {}

    async def run(self, directory: Path) -> ImportReport:
        report = ImportReport()
        started = time.perf_counter()
        await self._load_existing()
        await self._import_projects(directory.parent / "projects.json", report)
        files = await asyncio.to_thread(session_files, directory)
        report.files = len(files)
        done = 0
        if self.progress is not None:
            self.progress(done, len(files))
        batches = [files[start:start + self.batch_size] for start in range(0, len(files), self.batch_size)]
        async with contextlib.aclosing(self._read_batches(batches)) as reads:
            async for read in reads:
                await self._write(self._admit(read, report), report)
                done += len(read)
                if self.progress is not None:
                    self.progress(done, len(files))
        report.seconds = time.perf_counter() - started
        return report

    async def _load_existing(self) -> None:
        s = t.sessions
        async with self.store.read() as conn:
            self.ids = set((await conn.scalars(select(s.c.id))).all())
            hermes = s.c.extra["hermes_id"].as_string()
            found = await conn.scalars(select(hermes).where(hermes.is_not(None)))
            self.hermes_ids = {h for h in found.all() if h}

    async def _read_batches(self, batches: list[list[Path]]) -> AsyncGenerator[list[HermesFile], None]:
        """Each batch read in a worker thread; the next one is read while the caller writes this one."""
        ahead: asyncio.Future[list[HermesFile]] | None = None
        try:
            for index, batch in enumerate(batches):
                current = ahead or asyncio.ensure_future(asyncio.to_thread(_read_all, batch))
                ahead = None
                if index + 1 < len(batches):
                    ahead = asyncio.ensure_future(asyncio.to_thread(_read_all, batches[index + 1]))
                yield await current
        finally:
            if ahead is not None:
                ahead.cancel()

    def _admit(self, files: list[HermesFile], report: ImportReport) -> list[_Admitted]:
        """Decide each file's fate (skip, fail, or its id) and build its rows."""
        admitted = []
        for file in files:
            if file.error is not None or file.payload is None:
                report.failed.append((file.name, file.error or "unreadable"))
                continue
            if file.hermes_id in self.hermes_ids:
                report.present.append(file.name)
                continue
            if not file.payload["messages"]:
                report.empty.append(file.name)
                continue
            keep = _valid_id(file.hermes_id) and file.hermes_id not in self.ids
            try:
                session = prepare_import(
                    self.sessions,
                    file.payload,
                    session_id=file.hermes_id if keep else self._new_id(),
                    project_id=self.project_map.get(file.project_id) if file.project_id else None,
                    trust_workspace=True,
                )
            except ThreadlineError as exc:
                report.failed.append((file.name, exc.message))
                continue
            self.ids.add(session.id)
            self.hermes_ids.add(file.hermes_id)
            admitted.append(_Admitted(file, session))
        return admitted

    def _new_id(self) -> str:
        while (candidate := new_session_id()) in self.ids:
            pass
        return candidate

    async def _write(self, batch: list[_Admitted], report: ImportReport) -> None:
        if not batch:
            return
        try:
            async with self.store.write() as conn:
                await write_imports(conn, [item.session for item in batch])
        except DBAPIError as exc:
            if len(batch) > 1:
                for item in batch:
                    await self._write([item], report)
                return
            report.failed.append((batch[0].file.name, f"not stored: {_reason(exc)}"))
            self.hermes_ids.discard(batch[0].file.hermes_id)
            return
        for item in batch:
            report.imported.append(item.session.id)
            report.dropped_messages += item.file.dropped
            if item.session.id != item.file.hermes_id:
                report.renamed.append((item.file.hermes_id, item.session.id))

    async def _import_projects(self, path: Path, report: ImportReport) -> None:
        """Map each Hermes project id to a project here: reuse one with the same id and name, else the
        same name and creation time, else create it (under its own id when free)."""
        if not path.is_file():
            return
        entries, problem = await asyncio.to_thread(read_projects, path)
        if problem is not None:
            report.failed.append((path.name, problem))
            return
        existing = {p["project_id"]: p for p in await self.projects.list()}
        for entry in entries:
            hermes_id = entry["project_id"]
            name = entry.get("name") if isinstance(entry.get("name"), str) and entry["name"].strip() else hermes_id
            created_at = epoch(entry.get("created_at"))
            same = existing.get(hermes_id)
            if same is not None and same["name"] == name:
                self.project_map[hermes_id] = hermes_id
                continue
            twin = next(
                (p for p in existing.values() if p["name"] == name and created_at and p["created_at"] == created_at),
                None,
            )
            if twin is not None:
                self.project_map[hermes_id] = twin["project_id"]
                continue
            own_id = hermes_id if same is None and _valid_id(hermes_id) else None
            try:
                project = await self.projects.create(name, entry.get("color"), project_id=own_id)
            except ThreadlineError:  # an unusable colour: keep the project, drop the colour
                project = await self.projects.create(name, None, project_id=own_id)
            if created_at:
                await self._set_project_created(project["project_id"], created_at)
            existing[project["project_id"]] = project | {"created_at": created_at or project["created_at"]}
            self.project_map[hermes_id] = project["project_id"]
            report.projects_created += 1

    async def _set_project_created(self, project_id: str, created_at: float) -> None:
        async with self.store.write() as conn:
            await conn.execute(
                t.projects.update().where(t.projects.c.id == project_id).values(created_at=created_at)
            )
