"""Engine overhead around ``rna.quant``: 100 kallisto runs through mi-run vs kallisto alone.

Builds the example's Demo_alpha index, then a spec that fans ``rna.quant`` out over 100 runs
(each reusing the example's PRVA01 read pair under its own name), runs it with ``-j 1`` as a
whole ``mi-run`` process, and runs the same 100 ``kallisto quant`` commands directly in one
loop. Per-run overhead = (mi-run wall - sum of kallisto walls) / 100. Run:
``python bench/rna_quant_overhead.py [--runs 100]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "rna"

SPEC = """name: quant_overhead
config:
  work_dir: out
steps:
  - name: quant
    uses: rna.quant
    foreach: {{table: runs.tsv, key: run}}
    inputs:
      index: {index}
      reads: ["{{{{ item.read1 }}}}", "{{{{ item.read2 }}}}"]
    params: {{lib_layout: paired}}
    outputs:
      abundance: "out/quant/{{{{ item.run }}}}/{{{{ item.run }}}}_abundance.tsv"
      run_info: "out/quant/{{{{ item.run }}}}/{{{{ item.run }}}}_run_info.json"
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    kallisto = shutil.which("kallisto")
    if kallisto is None:
        raise SystemExit("kallisto is not on PATH: apt-get install -y kallisto (or make tools)")
    read1 = EXAMPLE / "fastq" / "Demo_alpha" / "PRVA01_1.fastq.gz"
    read2 = EXAMPLE / "fastq" / "Demo_alpha" / "PRVA01_2.fastq.gz"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        index = folder / "Demo_alpha.idx"
        subprocess.run([kallisto, "index", "-i", str(index), str(EXAMPLE / "fasta" / "Demo_alpha.fa")],
                       check=True, capture_output=True)
        rows = ["run\tread1\tread2"]
        for i in range(args.runs):
            rows.append(f"R{i:04d}\t{read1}\t{read2}")
        (folder / "runs.tsv").write_text("\n".join(rows) + "\n")
        (folder / "spec.yaml").write_text(SPEC.format(index=index))
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "engine.cli", "spec.yaml", "-j", "1"], cwd=folder,
                       env=env, check=True, capture_output=True)
        engine_wall = time.perf_counter() - start
        alone = 0.0
        for i in range(args.runs):
            out = folder / "alone" / f"R{i:04d}"
            out.mkdir(parents=True)
            t0 = time.perf_counter()
            subprocess.run([kallisto, "quant", "-i", str(index), "-o", str(out), "-t", "1",
                            "--seed", "42", str(read1), str(read2)], check=True, capture_output=True)
            alone += time.perf_counter() - t0
    overhead = (engine_wall - alone) / args.runs
    print(f"runs: {args.runs}  mi-run -j1 wall: {engine_wall:.2f} s  kallisto alone (sum): "
          f"{alone:.2f} s  engine overhead per run: {overhead * 1000:.0f} ms")


if __name__ == "__main__":
    main()
