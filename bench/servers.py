"""Real server processes for the load bench: the scripted LLM, and Threadline as one instance on SQLite,
several instances on PostgreSQL + Redis, or one ``serve --workers N``; with the CPU time of each."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.procs import ROOT, free_port


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and of its children that have been waited for (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float]:
    """Busy and total CPU seconds of the whole machine since boot, over all cores (Linux ``/proc/stat``)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return 0.0, 0.0
    idle = fields[3] + fields[4]  # idle and iowait
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields) - idle) / tick, sum(fields) / tick


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (a ``--workers`` parent and its worker processes)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            children = []
        queue.extend(int(child) for child in children)
    return found


def pids_named(name: str) -> list[int]:
    """Processes whose command is ``name`` (the PostgreSQL and Redis servers, to report their CPU)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


@dataclass
class Process:
    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def pids(self) -> list[int]:
        return descendants(self.proc.pid)

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_ready(process: Process, path: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.proc.poll() is not None:
            break
        try:
            if httpx.get(process.url + path, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.stop()
    raise RuntimeError(f"{process.name} did not start:\n{process.log.read_text(errors='replace')[-3000:]}")


def start_llm(root: Path) -> Process:
    port = free_port()
    log = root / "llm.log"
    proc = subprocess.Popen([sys.executable, "-m", "tests.llm_server", "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    process = Process("llm", f"http://127.0.0.1:{port}", proc, log)
    wait_ready(process, "/v1/models")
    return process


@dataclass
class Deployment:
    """What the Threadline processes share: a database, and Redis when there are several."""

    root: Path
    llm: Process
    database_url: str | None = None  # None: SQLite in the (one) home
    redis_url: str | None = None
    prefix: str = field(default_factory=lambda: f"tl-bench-{uuid.uuid4().hex[:8]}")
    lease_seconds: float | None = None
    launcher: list[str] = field(default_factory=lambda: ["-m", "threadline"])  # what follows the interpreter
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self, name: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("THREADLINE_", "OPENAI_", "ANTHROPIC_"))}
        env.update({
            "OPENAI_API_KEY": "bench",
            "OPENAI_BASE_URL": self.llm.url + "/v1",
            "THREADLINE_DEFAULT_MODEL": "openai/test-model",
            "THREADLINE_DETECT_OLLAMA": "false",
            "THREADLINE_LLM_TITLES": "false",
            "THREADLINE_LOG_LEVEL": "WARNING",
            "THREADLINE_DEFAULT_WORKSPACE": str(self.root / "workspace"),
            "THREADLINE_WORKSPACE_ROOTS": f'["{self.root}"]',
            "THREADLINE_INSTANCE_ID": name,
        })
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # served as installed: compiled once
        env["PYTHONPYCACHEPREFIX"] = str(self.root / "pycache")
        if self.database_url:
            env["THREADLINE_DATABASE_URL"] = self.database_url
        if self.redis_url:
            env.update(THREADLINE_REDIS_URL=self.redis_url, THREADLINE_REDIS_PREFIX=self.prefix)
        if self.lease_seconds:
            env["THREADLINE_RUN_LEASE_SECONDS"] = str(self.lease_seconds)
        return {**env, **self.extra_env}

    def start(self, name: str, *, workers: int = 1) -> Process:
        home = self.root / ("home" if self.database_url is None else name)
        home.mkdir(parents=True, exist_ok=True)
        (self.root / "workspace").mkdir(exist_ok=True)
        port = free_port()
        log = self.root / f"{name}.log"
        command = [sys.executable, *self.launcher, "serve", "--home", str(home), "--port", str(port)]
        if workers > 1:
            command += ["--workers", str(workers)]
        proc = subprocess.Popen(command, env=self.env(name), stdout=subprocess.DEVNULL, stderr=log.open("wb"))
        process = Process(name, f"http://127.0.0.1:{port}", proc, log)
        wait_ready(process, "/health/ready")
        return process
