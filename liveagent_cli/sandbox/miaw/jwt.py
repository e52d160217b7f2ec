"""JSON Web Tokens as Enhanced Chat's server mints them (RS256), and the identity tokens customers sign.

Why RSA in pure Python: the reference (miaw-api.md 1.3) shows RS256 access tokens with a `kid` and a
`jwks_uri`, and the sandbox adds no dependency for it. Signing is one modular exponentiation; making the
key (two 1024-bit primes) takes about half a second, so a sandbox makes its key on the first token it mints,
off the event loop, and a seeded sandbox reuses the key of its seed (the same seed gives the same key).

Clients must treat tokens as opaque (they react to 401, none checks a signature), but a client that reads
`exp` from the payload, or fetches the JWKS to verify, finds what it would on a real server.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import random
from dataclasses import dataclass
from typing import Any

_KEY_BITS = 2048
_E = 65537
_MR_ROUNDS = 8
# DER prefix of a SHA-256 DigestInfo (RFC 8017 9.2): what PKCS#1 v1.5 signs
_SHA256_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Base64url without padding; ValueError for anything else."""
    if not text or any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _small_primes(limit: int) -> list[int]:
    sieve = bytearray([1]) * limit
    sieve[0:2] = b"\0\0"
    for i in range(2, int(limit**0.5) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytearray(len(sieve[i * i :: i]))
    return [i for i in range(3, limit) if sieve[i]]


_SMALL_PRIMES = _small_primes(4000)


def _probably_prime(n: int, rng: random.Random) -> bool:
    for p in _SMALL_PRIMES:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while not d & 1:
        d >>= 1
        s += 1
    for _ in range(_MR_ROUNDS):
        x = pow(rng.randrange(2, n - 2), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int, rng: random.Random) -> int:
    while True:
        candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1  # top two bits set: n has all its bits
        if (candidate - 1) % _E and _probably_prime(candidate, rng):
            return candidate


@dataclass(frozen=True)
class SigningKey:
    """An RSA key pair and its key id (`kid`); signing uses the CRT (two half-size exponentiations, ~4x faster)."""

    kid: str
    n: int
    d: int
    p: int
    q: int

    @functools.cached_property
    def _crt(self) -> tuple[int, int, int]:
        return self.d % (self.p - 1), self.d % (self.q - 1), pow(self.q, -1, self.p)

    @property
    def size(self) -> int:
        return (self.n.bit_length() + 7) // 8

    def sign(self, message: bytes) -> bytes:
        """RSASSA-PKCS1-v1_5 with SHA-256 (JWS `RS256`)."""
        digest = _SHA256_PREFIX + hashlib.sha256(message).digest()
        padded = b"\x00\x01" + b"\xff" * (self.size - len(digest) - 3) + b"\x00" + digest
        m = int.from_bytes(padded, "big")
        dp, dq, q_inv = self._crt
        m1, m2 = pow(m, dp, self.p), pow(m, dq, self.q)
        signature = m2 + self.q * ((q_inv * (m1 - m2)) % self.p)
        return signature.to_bytes(self.size, "big")

    def verify(self, message: bytes, signature: bytes) -> bool:
        if len(signature) != self.size:
            return False
        digest = _SHA256_PREFIX + hashlib.sha256(message).digest()
        padded = b"\x00\x01" + b"\xff" * (self.size - len(digest) - 3) + b"\x00" + digest
        return pow(int.from_bytes(signature, "big"), _E, self.n).to_bytes(self.size, "big") == padded

    def jwk(self) -> dict[str, str]:
        """The public half, as a JWKS lists it."""
        n = self.n.to_bytes(self.size, "big")
        return {
            "kty": "RSA",
            "kid": self.kid,
            "use": "sig",
            "alg": "RS256",
            "n": b64url(n),
            "e": b64url(b"\x01\x00\x01"),
        }


def make_key(seed: int | None) -> SigningKey:
    """A fresh 2048-bit key; the same one for the same seed (memoised: making one takes ~0.5 s)."""
    if seed is None:
        return _make_key(random.SystemRandom())
    return _seeded_key(seed)


@functools.lru_cache(maxsize=8)
def _seeded_key(seed: int) -> SigningKey:
    return _make_key(random.Random(f"miaw-key-{seed}"))


def _make_key(rng: random.Random) -> SigningKey:
    while True:
        p, q = _prime(_KEY_BITS // 2, rng), _prime(_KEY_BITS // 2, rng)
        if p != q:
            break
    n = p * q
    d = pow(_E, -1, (p - 1) * (q - 1))
    kid = hashlib.sha256(n.to_bytes(_KEY_BITS // 8, "big")).hexdigest()[:16]
    return SigningKey(kid, n, d, p, q)


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
