"""Make the bundled simulation example: the demographic model and what it plants.

Deterministic (no randomness here; the run's draws come from its `seed`, 42 by default)::

    python examples/simulation/make_example_data.py [OUT_DIR]

Writes (default: next to this script):
- ``two_populations.demes.yaml``: populations A and B (Ne 10,000 each) that split from ANC
  (Ne 10,000) 2,000 generations ago, in the demes format (msprime, stdpopsim and demes-python
  read it); ``specs/simulation/coalescent.yaml`` reads it by default;
- ``truth.tsv``: the planted parameters and the values they imply under the coalescent
  (π = 4Neμ in each population; Hudson F_ST = t / (t + 2Ne) for a clean split), plus the
  phenotype planted by the spec's defaults (3 causal sites, h² = 0.6; the sites themselves are
  drawn from the run's seed and listed in ``<work_dir>/gwas/truth.tsv``).
"""

from __future__ import annotations

import sys
from pathlib import Path

NE = 10_000
SPLIT_TIME = 2_000
MU = 1e-8
RHO = 1e-8
LENGTH = 1_000_000
SAMPLES_PER_POPULATION = 100

DEMES = f"""\
description: two populations A and B that split from ANC {SPLIT_TIME} generations ago
time_units: generations
demes:
  - name: ANC
    epochs:
      - {{end_time: {SPLIT_TIME}, start_size: {NE}}}
  - name: A
    ancestors: [ANC]
    epochs:
      - {{end_time: 0, start_size: {NE}}}
  - name: B
    ancestors: [ANC]
    epochs:
      - {{end_time: 0, start_size: {NE}}}
"""


def truth_rows() -> list[tuple[str, str, str]]:
    pi = 4 * NE * MU
    fst = SPLIT_TIME / (SPLIT_TIME + 2 * NE)
    return [
        ("Ne", "A,B,ANC", f"{NE}"), ("split_time_generations", "A/B", f"{SPLIT_TIME}"),
        ("mutation_rate", "all", f"{MU}"), ("recombination_rate", "all", f"{RHO}"),
        ("sequence_length", "all", f"{LENGTH}"),
        ("samples_diploid", "A,B", f"{SAMPLES_PER_POPULATION}"),
        ("expected_pi", "A", f"{pi}"), ("expected_pi", "B", f"{pi}"),
        ("expected_tajimas_d", "A", "0"), ("expected_tajimas_d", "B", "0"),
        ("expected_fst_hudson", "A/B", f"{fst}"),
        ("causal_sites", "A,B", "3"), ("heritability", "A,B", "0.6"),
    ]


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "two_populations.demes.yaml").write_text(DEMES)
    lines = ["quantity\tpopulation\tvalue"] + ["\t".join(row) for row in truth_rows()]
    (out_dir / "truth.tsv").write_text("\n".join(lines) + "\n")
    print(f"wrote {out_dir / 'two_populations.demes.yaml'} and {out_dir / 'truth.tsv'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent)
