"""Scrubbing secrets from anything printed: the session key must never reach a terminal or a log."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

REDACTED = "<redacted>"
SECRET_HEADERS = frozenset({"x-liveagent-session-key", "authorization"})


class Redactor:
    """Replaces every known secret string in text; secrets are registered as soon as they are known."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self.enabled = True
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 8:
            from urllib.parse import quote

            self._secrets.add(secret)
            self._secrets.add(quote(secret, safe=""))  # as it appears in a URL path
            # the key's parts are secret too: `<id>!<epoch>!<signature>` leaks its signature on its own
            for part in secret.split("!")[2:]:
                if len(part) >= 8:
                    self._secrets.add(part)
            # a JWT (Enhanced Chat's access and identity tokens): its claims and signature are secret on their own
            jwt_parts = secret.split(".")
            if len(jwt_parts) == 3:
                self._secrets.update(part for part in jwt_parts[1:] if len(part) >= 8)

    def text(self, value: str) -> str:
        if not self.enabled:
            return value
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        if not self.enabled:
            return dict(headers)
        return {k: (REDACTED if k.lower() in SECRET_HEADERS else self.text(v)) for k, v in headers.items()}
