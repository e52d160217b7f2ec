"""JSON Web Tokens as Enhanced Chat's server mints them (RS256), and the identity tokens customers sign.

The reference (miaw-api.md 1.3) shows RS256 access tokens with a `kid` and a `jwks_uri`. The RSA itself
(key generation, PKCS#1 v1.5 signing and verifying) is the `cryptography` package's, imported on the first
key a sandbox makes, so `sandbox serve` start-up, the legacy API and `import liveagent_cli.sandbox` never load
it (README "Dependencies"). Making a 2048-bit key takes tens of milliseconds; a sandbox still makes it off the
event loop, on its first token.

Seeds: OpenSSL draws its primes from the system's randomness, so a key cannot be derived from a seed. A
seeded sandbox instead reuses the one key made for its seed in this process (memoised): two sandboxes of one
seed share a key and a `kid`, sandboxes of different seeds never do, and a test suite makes one key per seed.
Across processes the same seed gives a new key (tokens were never byte-reproducible: they carry `iat`).

Clients must treat tokens as opaque (they react to 401, none checks a signature), but a client that reads
`exp` from the payload, or fetches the JWKS to verify, finds what it would on a real server.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

_KEY_BITS = 2048
_E = 65537


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Base64url without padding; ValueError for anything else."""
    if not text or any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class SigningKey:
    """An RSA key pair (the `cryptography` package's) and its key id (`kid`)."""

    kid: str
    private: RSAPrivateKey

    def sign(self, message: bytes) -> bytes:
        """RSASSA-PKCS1-v1_5 with SHA-256 (JWS `RS256`)."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        return self.private.sign(message, padding.PKCS1v15(), hashes.SHA256())

    def verify(self, message: bytes, signature: bytes) -> bool:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        try:
            self.private.public_key().verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return False
        return True

    def jwk(self) -> dict[str, str]:
        """The public half, as a JWKS lists it."""
        return {
            "kty": "RSA",
            "kid": self.kid,
            "use": "sig",
            "alg": "RS256",
            "n": b64url(_modulus(self.private)),
            "e": b64url(b"\x01\x00\x01"),
        }


def _modulus(private: RSAPrivateKey) -> bytes:
    return private.public_key().public_numbers().n.to_bytes(_KEY_BITS // 8, "big")


def make_key(seed: int | None) -> SigningKey:
    """A fresh 2048-bit key; for a seed, the one this process made for it (see the module docstring)."""
    if seed is None:
        return _make_key()
    return _seeded_key(seed)


@functools.lru_cache(maxsize=8)
def _seeded_key(seed: int) -> SigningKey:
    return _make_key()


def _make_key() -> SigningKey:
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=_E, key_size=_KEY_BITS)
    return SigningKey(hashlib.sha256(_modulus(private)).hexdigest()[:16], private)


def encode(claims: dict[str, Any], key: SigningKey) -> str:
    header = {"kid": key.kid, "typ": "JWT", "alg": "RS256"}
    signing_input = (
        b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    return signing_input + "." + b64url(key.sign(signing_input.encode("ascii")))


class TokenFormatError(ValueError):
    """A string that is not a JWT (three base64url parts, a JSON header and payload)."""


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a JWT, unchecked; TokenFormatError when it is not one."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[2]:
        raise TokenFormatError("not a JWT: three dot-separated parts are needed")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        b64url_decode(parts[2])
    except ValueError:
        raise TokenFormatError("not a JWT: its parts are not base64url JSON") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise TokenFormatError("not a JWT: its header and payload must be JSON objects")
    return header, claims
