"""engine.fingerprint: stat fast path, content fallback, hash limit, directories."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from engine.fingerprint import SMALL_FILE, Fingerprint, fingerprint, hash_file, unchanged


def _bump_mtime(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))


def test_file_digest_is_sha256_of_content(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_bytes(b"ACGT\n")
    fp = fingerprint(f)
    assert fp.size == 5 and fp.digest == hashlib.sha256(b"ACGT\n").hexdigest()


def test_touched_but_same_content_is_unchanged(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("same")
    old = fingerprint(f)
    _bump_mtime(f)
    assert unchanged(f, old)


def test_same_size_new_content_is_changed(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("AAAA")
    old = fingerprint(f)
    f.write_text("CCCC")
    _bump_mtime(f)
    assert not unchanged(f, old)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        fingerprint(tmp_path / "nope")
    assert not unchanged(tmp_path / "nope", Fingerprint(1, 1, None))


def test_over_the_hash_limit_compares_stat_only(tmp_path: Path) -> None:
    f = tmp_path / "big.bin"
    f.write_bytes(b"x" * 100)
    old = fingerprint(f, hash_limit=10)
    assert old.digest is None
    assert unchanged(f, old)
    _bump_mtime(f)
    assert not unchanged(f, old), "without a digest a touched file must count as changed"
    assert fingerprint(f, hash_limit=None).digest is not None


def test_directory_fingerprint(tmp_path: Path) -> None:
    d = tmp_path / "index"
    (d / "sub").mkdir(parents=True)
    (d / "a").write_text("1")
    (d / "sub" / "b").write_text("22")
    old = fingerprint(d)
    assert old.is_dir and old.size == 3 and old.digest is not None
    _bump_mtime(d / "a")
    assert unchanged(d, old)
    (d / "sub" / "b").write_text("33")
    _bump_mtime(d / "sub" / "b")
    assert not unchanged(d, old)
    new = fingerprint(d)
    (d / "c").write_text("")
    assert not unchanged(d, new)


def test_json_round_trip(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    for fp in (fingerprint(tmp_path / "f"), fingerprint(tmp_path), Fingerprint(1, 2, None)):
        assert Fingerprint.from_json(fp.to_json()) == fp


@pytest.mark.parametrize("size", [0, 1, SMALL_FILE - 1, SMALL_FILE, SMALL_FILE + 1,
                                  3 * SMALL_FILE + 7])
def test_small_and_large_files_hash_to_hashlibs_sha256(tmp_path: Path, size: int) -> None:
    """Small files go through CPython's own SHA-256, large ones through hashlib: one digest."""
    data = os.urandom(size)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    assert hash_file(path) == hashlib.sha256(data).hexdigest()
