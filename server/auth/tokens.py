"""Opaque bearer tokens and password hashing.

Tokens are 256-bit random strings with a readable prefix that says what they are (``mks_`` a sign-in
session, ``mkb_`` a buyer API key). Only their SHA-256 is stored: they carry enough entropy that a fast hash
is safe, and lookup stays one indexed equality. Passwords, which carry little entropy, use argon2id.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

SESSION_PREFIX = "mks_"
API_KEY_PREFIX = "mkb_"
# How many leading characters of an API key are kept in clear for display ("mkb_3fQx9a…").
API_KEY_DISPLAY_CHARS = 12

_TOKEN_BODY = re.compile(r"^[A-Za-z0-9_-]{43}$")
_hasher = PasswordHasher()


def new_token(prefix: str) -> str:
    """A fresh random token with the given prefix."""
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    """The digest stored in place of a token."""
    return hashlib.sha256(token.encode()).digest()


def token_kind(token: str) -> str | None:
    """``"session"``, ``"api_key"`` or ``None`` for a string that is not a well-formed token."""
    for prefix, kind in ((SESSION_PREFIX, "session"), (API_KEY_PREFIX, "api_key")):
        if token.startswith(prefix) and _TOKEN_BODY.match(token[len(prefix) :]):
            return kind
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A hash to verify against when the email is unknown, so that both paths take the same time.
DUMMY_PASSWORD_HASH = hash_password("machikoba-timing-equaliser")
