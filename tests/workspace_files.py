"""Workspace contents that are hard on a file server: FIFOs, names that are not UTF-8, huge trees."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def release_fifo(path: Path) -> None:
    """Give a writer to anything blocked opening the FIFO ``path`` (a server that opened it the
    blocking way), so no thread is left hanging after the test."""
    for _ in range(100):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            return  # ENXIO: nobody is reading it
        os.close(fd)
        time.sleep(0.01)


@contextmanager
def fifo_in(folder: Path, name: str = "pipe") -> Iterator[Path]:
    """A FIFO named ``name`` in ``folder``, released (``release_fifo``) afterwards."""
    path = folder / name
    os.mkfifo(path)
    try:
        yield path
    finally:
        release_fifo(path)


def big_tree(workspace: Path, links: int) -> None:
    """``links`` names of one 1.9 MB text file: a tree that takes minutes to search, made in a blink."""
    (workspace / "big").mkdir()
    original = workspace / "big" / "f0.txt"
    original.write_text(("lorem ipsum dolor sit amet " * 4 + "\n") * 17_000)
    for index in range(1, links):
        os.link(original, workspace / "big" / f"f{index}.txt")


def undecodable_tree(workspace: Path) -> bytes:
    """A folder ``caf\\xe9`` holding ``r\\xe9sum\\xe9.txt`` (Latin-1 names); returns the file's raw path."""
    folder = os.fsencode(workspace) + b"/caf\xe9"
    os.mkdir(folder)
    path = folder + b"/r\xe9sum\xe9.txt"
    with open(path, "wb") as handle:
        handle.write(b"needle\n")
    return path


SHOWN_FOLDER = "caf\ufffd"
SHOWN_FILE = "caf\ufffd/r\ufffdsum\ufffd.txt"
