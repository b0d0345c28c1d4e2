"""Progress through a known number of items, shown the way the output can take it: a rich bar with the
rate on a terminal; on a pipe or a log file (no control codes there), a plain line at most once every
``interval`` seconds, and always the last one."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RateColumn(ProgressColumn):
    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} {self.unit}/s" if speed else f"- {self.unit}/s", style="progress.data.speed")


class CountProgress:
    def __init__(self, console: Console, *, label: str, unit: str, interval: float = 1.0) -> None:
        self.console = console
        self.label = label
        self.unit = unit
        self.interval = interval
        self.started = time.perf_counter()
        self.last_line = float("-inf")
        self.bar: Progress | None = None
        self.task: TaskID | None = None

    def __enter__(self) -> CountProgress:
        self.started = time.perf_counter()
        if self.console.is_terminal and not self.console.is_dumb_terminal:
            self.bar = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(self.unit),
                TimeElapsedColumn(), TimeRemainingColumn(), console=self.console,
            )
            self.bar.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self.bar is not None:
            self.bar.stop()

    def update(self, done: int, total: int) -> None:
        """``done`` of ``total`` items handled so far."""
        if self.bar is not None:
            if self.task is None:
                self.task = self.bar.add_task(self.label, total=total)
            self.bar.update(self.task, completed=done, total=total)
            return
        now = time.perf_counter()
        if done < total and now - self.last_line < self.interval:
            return
        self.last_line = now
        elapsed = now - self.started
        rate = f"{done / elapsed:,.0f}" if elapsed > 0 and done else "-"
        self.console.print(
            f"{self.label}: {done:,}/{total:,} {self.unit}, {rate} {self.unit}/s, {elapsed:.1f} s",
            highlight=False, markup=False,
        )
