"""The default JSON response: secrets redacted from everything it carries (``threadline.redact``)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from threadline.redact import redact_obj


class RedactedJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return super().render(redact_obj(content))
