"""`--log FILE`: one JSON line per Chat API exchange (and upload), written and flushed as it completes.

Each line: `time` (ISO 8601 UTC), `method`, `path`, `query`, `status` (null when the connection was dropped),
`ms` (duration), `chat` (the session id, when known), `fault` (the spec that fired, or null), `headers`, and
the request `body` (text, at most 2 KiB). Session keys are redacted wherever they appear: the key header,
a DELETE path, any body. The file is opened for appending; the sandbox never logs to stdout.
"""

from __future__ import annotations

import datetime
import json
from typing import IO, Any

from liveagent_cli.sandbox.keys import redact_headers, redact_path, redact_text, redact_value

BODY_LIMIT = 2048


class WireLog:
    def __init__(self, path: str) -> None:
        self.path = path
        self._file: IO[str] | None = open(path, "a", encoding="utf-8")  # kept open while serving

    def write(
        self,
        *,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
        status: int | None,
        ms: float,
        chat: str | None,
        fault: str | None,
        key: str | None,
        body_shown: bool = True,
    ) -> None:
        if self._file is None:
            return
        entry: dict[str, Any] = {
            "time": datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "method": method,
            "path": redact_path(path),
            "query": redact_value(query, key),
            "status": status,
            "ms": round(ms, 1),
            "chat": chat,
            "fault": fault,
            "headers": redact_headers(headers),
        }
        if body_shown:
            text = body[:BODY_LIMIT].decode("utf-8", "replace")
            entry["body"] = redact_text(text, key)
            if len(body) > BODY_LIMIT:
                entry["bodyTruncated"] = len(body)
        else:
            entry["bodySize"] = len(body)
        self._file.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
