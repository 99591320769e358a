"""The bundled specs and their example data work after a plain ``pip install`` of the wheel
(not only from an editable install): build the wheel, install it into a fresh venv (offline:
``--no-deps --no-index``; the dependencies come from this venv through a .pth file), and run
``mi-run`` from a directory outside the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.helpers.running import ROOT


def _run(*argv: str | Path, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k != "PYTHONPATH" and not k.startswith("MI_")}
    done = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=240)
    if check:
        assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with the wheel installed; returns its directory."""
    if shutil.which("pip", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("no pip beside this interpreter")
    base = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    _run(*pip, "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "-w", base / "dist", ROOT, cwd=base)
    wheels = list((base / "dist").glob("metainformant_flow-*.whl"))
    assert len(wheels) == 1
    venv = base / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=base)
    python = venv / "bin" / "python"
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                   cwd=base).stdout.strip()
    # This venv's site-packages as a plain path (its .pth files, the editable install's
    # among them, are not read from there): the dependencies, not this checkout.
    Path(purelib, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(*pip, "--python", python, "install", "--quiet", "--no-deps", "--no-index",
         wheels[0], cwd=base)
    return venv


def test_the_wheel_ships_specs_and_examples(installed: Path, tmp_path: Path) -> None:
    where = _run(installed / "bin" / "python", "-c",
                 "import engine, stepslib; print(engine.__file__); print(stepslib.__file__)",
                 cwd=tmp_path).stdout.split()
    package = Path(where[0]).parent
    assert package.is_relative_to(installed) and Path(where[1]).is_relative_to(installed)
    assert (package / "specs/rna/amalgkit.yaml").is_file()
    assert (package / "specs/gwas/gwas.yaml").is_file()
    assert (package / "schemas/spec.schema.json").is_file()
    assert (package / "examples/gwas/example.bed").is_file()
    assert (package / "examples/rna/sample_sheet.tsv").is_file()
    for domain, flagship in [("ecology", "community"), ("epigenome", "methylation"),
                             ("simulation", "coalescent"), ("dna", "variants"),
                             ("multiomics", "integrate")]:  # each domain's spec and its example
        assert (package / f"specs/{domain}/{flagship}.yaml").is_file(), domain
        assert any((package / f"examples/{domain}").iterdir()), domain


def test_domains_and_plan_run_outside_the_checkout(installed: Path, tmp_path: Path) -> None:
    mi_run = installed / "bin" / "mi-run"
    listed = _run(mi_run, "domains", cwd=tmp_path).stdout
    assert "rna: " in listed and "gwas: " in listed
    spec_line = next(line for line in listed.splitlines() if "spec: rna/amalgkit.yaml" in line)
    assert str(installed) in spec_line and str(ROOT) not in listed
    plan = _run(mi_run, "rna", "plan", cwd=tmp_path)
    assert "quant" in plan.stdout and "summary:" in plan.stdout
    checked = _run(mi_run, "gwas", "run", "--check", cwd=tmp_path)
    assert "ok — workflow 'gwas'" in checked.stdout


def test_without_the_example_data_the_error_says_so(installed: Path, tmp_path: Path) -> None:
    python = installed / "bin" / "python"
    package = Path(_run(python, "-c", "import engine; print(engine.__file__)",
                        cwd=tmp_path).stdout.strip()).parent
    examples = package / "examples" / "gwas"
    examples.rename(tmp_path / "moved")  # put back below: the venv is shared by the module
    try:
        done = _run(installed / "bin" / "mi-run", "gwas", "plan", cwd=tmp_path, check=False)
    finally:
        (tmp_path / "moved").rename(examples)
    assert done.returncode == 2
    assert "examples/gwas/example.bed' of 'load' is not written by any step" in done.stderr
    assert ("it is the bundled example data, which this installation does not have"
            in done.stderr)
    assert "--config FILE or --set KEY=PATH" in done.stderr
