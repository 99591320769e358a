"""Test-only step functions (namespace ``seedtest``) that return MetaInformAnt's step-result
standard: a conditional skip with its reason, and warnings.

Worker processes import this module by name (``MI_STEP_MODULES=tests.helpers.seed_steps``
with the checkout on PYTHONPATH); in-process runs just import it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine import StepContext, step

_ANY = {"type": "object", "additionalProperties": True}


@step("seedtest.trim", params=_ANY, version="1",
      inputs={"reads": "a text file, one read per line"},
      outputs={"trimmed": {"description": "the reads, trimmed", "required": False}})
def trim(config: dict[str, Any], *, inputs: Any, outputs: Any, context: StepContext) -> Any:
    """Skips (the seed's way) when there is nothing to trim; warns about short reads."""
    reads = Path(inputs["reads"]).read_text().split()
    if not reads:
        return {"status": "skipped", "reason": f"no reads in {Path(inputs['reads']).name}"}
    short = [r for r in reads if len(r) < 4]
    Path(outputs["trimmed"]).write_text("".join(r[:4] + "\n" for r in reads))
    return {"status": "completed", "output": {"reads": len(reads)},
            "warnings": [f"{len(short)} read(s) shorter than 4 bases"] if short else []}


@step("seedtest.skip_silently", params=_ANY, version="1")
def skip_silently(config: dict[str, Any], *, inputs: Any, outputs: Any,
                  context: StepContext) -> Any:
    return {"status": "skipped"}
