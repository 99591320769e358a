"""The run record is written instance by instance (issue #19: a third of a 10,000-step run's
peak memory was the whole record held at once); the bytes are those of one ``json.dumps``."""

from __future__ import annotations

import json
from pathlib import Path

from engine.running.runfiles import write_record


def _record(run_id: str) -> dict[str, object]:
    return {"format": 1, "run_id": run_id, "status": "ok", "counts": {"completed": 3},
            "instances": [{"id": f"a[{i}]", "status": "completed", "note": "ü ☃", "n": 1.5,
                           "output": {"path": Path("x")}} for i in range(3)]}


def test_a_streamed_record_has_the_bytes_of_one_dumps(tmp_path: Path) -> None:
    whole = _record("r1")
    expected = json.dumps(whole, separators=(",", ":"), ensure_ascii=False, default=str)
    head = {k: v for k, v in _record("r2").items() if k != "instances"}
    streamed = write_record(str(tmp_path), head, keep=5,
                            instances=iter(_record("r2")["instances"]))  # type: ignore[call-overload]
    assert Path(streamed).read_text(encoding="utf-8") == expected.replace('"r1"', '"r2"')
    plain = write_record(str(tmp_path), whole, keep=5)
    assert Path(plain).read_text(encoding="utf-8") == expected


def test_a_streamed_record_with_no_instances_is_valid_json(tmp_path: Path) -> None:
    path = write_record(str(tmp_path), {"run_id": "r3"}, keep=5, instances=iter(()))
    assert json.loads(Path(path).read_text(encoding="utf-8")) == {"run_id": "r3", "instances": []}
