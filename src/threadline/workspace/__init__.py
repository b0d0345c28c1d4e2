"""The workspace: the folder a session's agent and its file API work in, behind one jail.

    jail.py      Jail: every path resolved and checked against the root; readable names
    roots.py     check_workspace: which folders may be a workspace at all; check_saved, suggest
    pool.py      the bounded thread pool all blocking file work runs on; cancel and checkpoints
    fileio.py    open_regular (never blocks on a FIFO) and write_atomic (never half-written)
    listing.py   one folder (file API) and a tree (list_files); the shared walk
    reading.py   text files: size caps, binary detection; raw downloads
    writing.py   save, create, write, edit, upload
    archives.py  extracting an uploaded zip or tar (links, devices, traversal refused; bytes counted)
    media.py     images by absolute path (/api/media); the per-session attachment folders
    search.py    search_files
    entries.py   rename and delete (the entry itself, never a symlink's target)

Errors are the shared vocabulary (``threadline.errors``), with these refinements:

    PathEscape(BadRequest, ValueError)        the path leaves the workspace or is malformed
    PathMissing(NotFound, FileNotFoundError)  nothing there
    NotRegular(BadRequest)                    a FIFO, socket or device
    HardLinked(Forbidden)                     a file with more than one link is not written through
    Unsupported(ThreadlineError, 415)         binary, or not UTF-8, where text is needed
    ArchiveRefused(BadRequest)                an archive that is damaged or holds a link, a device, ..
    WorkCancelled(Exception)                  inside a pool job whose caller was cancelled

Imports only ``errors`` (and the standard library): ``agent``, ``runs``, ``sessions`` and ``web``
use it.
"""

from threadline.workspace.fileio import HardLinked, NotRegular, Unsupported
from threadline.workspace.jail import Jail, PathEscape, PathMissing, readable
from threadline.workspace.roots import check_workspace

__all__ = ["HardLinked", "Jail", "NotRegular", "PathEscape", "PathMissing", "Unsupported", "check_workspace",
           "readable"]
