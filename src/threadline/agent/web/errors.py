"""The web tools' errors; each message is written for the model (and the transcript)."""

from __future__ import annotations


class WebError(Exception):
    """A fetch or a search that failed: the page or the backend could not be read."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Refused(WebError):
    """A destination that may not be reached (a private address, a scheme other than http(s))."""
