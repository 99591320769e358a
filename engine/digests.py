"""Hash objects from CPython's built-in modules, for the digests every start-up computes.

``hashlib`` loads OpenSSL's bindings (≈2 ms, a few per cent of a no-op run), yet the small
digests a run always takes (a spec's "valid" verdict, the configuration key of each instance,
a step's source) are the same from CPython's own ``_sha1`` and ``_blake2``. File contents are
still hashed through ``hashlib`` (:mod:`engine.fingerprint`), whose OpenSSL code is faster on
large files.
"""

from __future__ import annotations

from typing import Protocol


class Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def hexdigest(self) -> str: ...


def sha1(data: bytes = b"") -> Digest:
    """SHA-1, as ``hashlib.sha1(data, usedforsecurity=False)`` (the same digest)."""
    try:
        from _sha1 import sha1 as builtin
    except ImportError:  # pragma: no cover - another Python implementation
        from hashlib import sha1 as builtin
    made: Digest = builtin(data, usedforsecurity=False)
    return made


def sha256(data: bytes = b"") -> Digest:
    """SHA-256, as ``hashlib.sha256(data)`` (the same digest)."""
    try:
        from _sha256 import sha256 as builtin
    except ImportError:  # pragma: no cover - another Python implementation
        from hashlib import sha256 as builtin
    made: Digest = builtin(data)
    return made


def blake2b(data: bytes = b"", digest_size: int = 64) -> Digest:
    """BLAKE2b, as ``hashlib.blake2b(data, digest_size=...)`` (the same digest)."""
    try:
        from _blake2 import blake2b as builtin
    except ImportError:  # pragma: no cover - another Python implementation
        from hashlib import blake2b as builtin
    return builtin(data, digest_size=digest_size)
