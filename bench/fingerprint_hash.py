"""Measure content-hash throughput for engine/fingerprint.py's choice of hash.

Usage: python bench/fingerprint_hash.py [SIZE_MB] [DIR]
Writes a SIZE_MB (default 256) file of random bytes under DIR (default: a temp dir), hashes it
with each stdlib candidate (and xxhash/blake3 when installed) with a warm page cache, best of 3,
and prints MB/s. The file is removed afterwards.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Callable


def _stdlib(name: str) -> Callable[[str], str]:
    def run(path: str) -> str:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, name).hexdigest()

    return run


def _optional() -> dict[str, Callable[[str], str]]:
    found: dict[str, Callable[[str], str]] = {}
    try:
        import xxhash

        def xx(path: str) -> str:
            with open(path, "rb") as handle:
                return hashlib.file_digest(handle, xxhash.xxh3_128).hexdigest()

        found["xxh3_128"] = xx
    except ImportError:
        print("xxhash: not installed")
    try:
        import blake3

        def b3(path: str) -> str:
            with open(path, "rb") as handle:
                return hashlib.file_digest(handle, blake3.blake3).hexdigest()

        found["blake3"] = b3
    except ImportError:
        print("blake3: not installed")
    return found


def main() -> None:
    size_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    where = sys.argv[2] if len(sys.argv) > 2 else None
    candidates = {name: _stdlib(name) for name in ("sha256", "blake2b", "sha1", "md5", "blake2s")}
    candidates.update(_optional())
    with tempfile.TemporaryDirectory(dir=where) as tmp:
        path = os.path.join(tmp, "data.bin")
        with open(path, "wb") as handle:
            for _ in range(size_mb):
                handle.write(os.urandom(1 << 20))
        candidates["sha256"](path)  # warm the page cache
        for name, run in candidates.items():
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                run(path)
                best = min(best, time.perf_counter() - start)
            print(f"{name:10s} {best:6.3f} s  {size_mb / best:7.0f} MB/s")


if __name__ == "__main__":
    main()
