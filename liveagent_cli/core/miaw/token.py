"""The access token's expiry: Enhanced Chat's token response has no `expires_in`, so the JWT's own `exp` claim
is read (miaw-api.md §1.3). The signature is not checked: the client treats the token as opaque and only
wants to say when it stops working; the server remains the judge (a 401).
"""

from __future__ import annotations

import base64
import binascii
import json
import math


def token_expiry(token: str) -> float | None:
    """The `exp` of a JWT in epoch seconds, or None when the token is not a JWT or carries no usable `exp`."""
    claims = token_claims(token)
    exp = claims.get("exp") if claims else None
    if isinstance(exp, bool) or not isinstance(exp, (int, float)) or not math.isfinite(exp) or exp <= 0:
        return None
    return float(exp)


def token_claims(token: str) -> dict[str, object] | None:
    """The claims of a JWT (its middle part), unverified; None when it is not one."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[1]:
        return None
    body = parts[1]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        claims = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return claims if isinstance(claims, dict) else None
