"""File fingerprints: what "this output/input has not changed" means.

A :class:`Fingerprint` is ``(size, mtime_ns, digest)``. Checking is two-level:

1. **stat** (size + mtime_ns): equal means unchanged, no file is read. This is the fast path
   taken for almost every file on almost every run.
2. **content digest**, only when the stat differs *and* a digest was recorded: a file that was
   touched (or copied, or restored from a backup) but has the same bytes is *not* stale.

Hash choice (measured by ``bench/fingerprint_hash.py`` on a 256 MiB file, this 2-core machine,
warm page cache): sha256 1.32 GB/s, sha1 1.38 GB/s, blake2b 0.72 GB/s, md5 0.59 GB/s,
blake2s 0.39 GB/s; xxhash and blake3 are not installed. OpenSSL's sha256 uses the CPU's SHA
extensions, so the stdlib's sha256 is both the fastest cryptographic choice here and needs no
dependency.

Eager hashing is bounded by ``hash_limit`` (default :data:`DEFAULT_HASH_LIMIT` = 64 MiB, like
Snakemake's checksum threshold): a file up to the limit is hashed when fingerprinted (worst case
~50 ms); a bigger file gets ``digest=None`` and is compared by size + mtime only, so touching a
multi-GB FASTQ/BAM without changing it *does* count as a change. Stream-hashing everything would
cost ~0.75 s per GB for every output of every run (tens of seconds for typical sequencing data),
which is why it is not the default; pass ``hash_limit=None`` to hash every file regardless.

Directories (directory outputs) are fingerprinted as a whole: ``size`` is the total size of the
regular files under it, ``mtime_ns`` the newest mtime, ``listing`` a hash of every file's
(relative path, size, mtime) -- the stat-level check -- and ``digest`` a hash over the sorted
relative paths with each file's own content digest (``None`` when any file is over the limit).
"""

from __future__ import annotations

import os
import stat as stat_mod
from dataclasses import dataclass
from typing import Any

from engine.digests import sha256

DEFAULT_HASH_LIMIT = 64 * 1024 * 1024
HASH_NAME = "sha256"


@dataclass(frozen=True)
class Fingerprint:
    size: int
    mtime_ns: int
    digest: str | None = None
    is_dir: bool = False
    listing: str | None = None  # directories: hash of (path, size, mtime) of every file

    def to_json(self) -> list[Any]:
        """Compact JSON ``[size, mtime_ns, digest]`` (``[..., digest, 1, listing]`` for a dir)."""
        if self.is_dir:
            return [self.size, self.mtime_ns, self.digest, 1, self.listing]
        return [self.size, self.mtime_ns, self.digest]

    @classmethod
    def from_json(cls, value: Any) -> Fingerprint:
        if len(value) > 3:
            return cls(int(value[0]), int(value[1]), value[2], bool(value[3]), value[4])
        return cls(int(value[0]), int(value[1]), value[2])


SMALL_FILE = 1 << 20
"""Files up to this size are hashed by CPython's own SHA-256 (the same digest): loading
OpenSSL's bindings costs more (≈2 ms a run) than hashing them; larger files stream through
``hashlib``, whose OpenSSL code is faster on big data."""


def hash_file(path: str | os.PathLike[str]) -> str:
    """Hex digest of the file's content (streamed, constant memory)."""
    with open(path, "rb") as handle:
        head = handle.read(SMALL_FILE + 1)
        if len(head) <= SMALL_FILE:
            return sha256(head).hexdigest()
        import hashlib

        digest = hashlib.sha256(head)
        handle_digest = hashlib.file_digest(handle, lambda: digest)
        return handle_digest.hexdigest()


def fingerprint(path: str | os.PathLike[str], hash_limit: int | None = DEFAULT_HASH_LIMIT) -> Fingerprint:
    """Fingerprint a file or directory; raises :class:`FileNotFoundError` when it is missing.

    ``hash_limit``: hash files up to this many bytes; ``None`` hashes every file, ``0`` none.
    """
    st = os.stat(path)
    if stat_mod.S_ISDIR(st.st_mode):
        return _dir_fingerprint(os.fspath(path), hash_limit, with_digest=True)
    digest = hash_file(path) if _should_hash(st.st_size, hash_limit) else None
    return Fingerprint(st.st_size, st.st_mtime_ns, digest)


def unchanged(path: str | os.PathLike[str], old: Fingerprint) -> bool:
    """True when ``path`` still matches ``old``: stat first, content only when stat differs.

    A missing path, or a file that became a directory (or the reverse), is changed. When the stat
    differs and ``old`` has no digest (file was over the hash limit), it is changed.
    """
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    is_dir = stat_mod.S_ISDIR(st.st_mode)
    if is_dir != old.is_dir:
        return False
    if is_dir:
        quick = _dir_fingerprint(os.fspath(path), None, with_digest=False)
        if quick.listing == old.listing:
            return True
        if old.digest is None:
            return False
        return _dir_fingerprint(os.fspath(path), None, with_digest=True).digest == old.digest
    if st.st_size == old.size and st.st_mtime_ns == old.mtime_ns:
        return True
    if old.digest is None or st.st_size != old.size:
        return False
    return hash_file(path) == old.digest


def _should_hash(size: int, hash_limit: int | None) -> bool:
    return hash_limit is None or size <= hash_limit


def _walk_files(root: str) -> list[tuple[str, os.stat_result]]:
    """Regular files under ``root`` as (relative path, stat), sorted by path."""
    found: list[tuple[str, os.stat_result]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in filenames:
            full = os.path.join(dirpath, name)
            try:
                st = os.stat(full)
            except FileNotFoundError:  # dangling symlink or deleted during the walk
                continue
            if stat_mod.S_ISREG(st.st_mode):
                found.append((os.path.relpath(full, root), st))
    found.sort(key=lambda entry: entry[0])
    return found


def _dir_fingerprint(root: str, hash_limit: int | None, *, with_digest: bool) -> Fingerprint:
    files = _walk_files(root)
    total = sum(st.st_size for _, st in files)
    newest = max((st.st_mtime_ns for _, st in files), default=os.stat(root).st_mtime_ns)
    import hashlib

    listing = hashlib.new(HASH_NAME)
    for rel, st in files:
        listing.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
    quick = Fingerprint(total, newest, None, is_dir=True, listing=listing.hexdigest())
    if not with_digest:
        return quick
    combined = hashlib.new(HASH_NAME)
    for rel, st in files:
        if not _should_hash(st.st_size, hash_limit):
            return quick
        combined.update(rel.encode("utf-8", "surrogateescape") + b"\0")
        combined.update(hash_file(os.path.join(root, rel)).encode() + b"\n")
    return Fingerprint(total, newest, combined.hexdigest(), is_dir=True, listing=quick.listing)
