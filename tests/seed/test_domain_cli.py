"""``mi-run DOMAIN VERB``: the seed's domain commands over the bundled specs, ``mi-run
domains``, one-off commands (``mi-run gwas plot``), precedence over spec paths, and a domain
declared outside the CLI."""

from __future__ import annotations

import json
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import stepslib
from engine.resources import bundled_spec
from tests.helpers.running import cli

RNA = str(bundled_spec("rna/amalgkit.yaml"))
GWAS = str(bundled_spec("gwas/gwas.yaml"))


GWAS_EXAMPLE = Path(GWAS).parents[2] / "examples" / "gwas"


def test_domains_lists_each_domain_with_its_spec(work: Path) -> None:
    code, out, err = cli("domains")
    assert code == 0, err
    assert f"  spec: rna/amalgkit.yaml ({RNA})" in out
    assert f"  spec: gwas/gwas.yaml ({GWAS})" in out
    assert "  mi-run gwas plot      a Manhattan or QQ plot" in out
    code, out, _ = cli("domains", "--json")
    listed = json.loads(out)
    assert listed["rna"]["spec_path"] == RNA and listed["gwas"]["spec_path"] == GWAS
    assert listed["gwas"]["commands"] == {"plot": "gwas.plots"}
    assert {"run", "plan", "status"} <= set(listed["rna"]["verbs"])
    seed_flags = listed["ecology"]["config_flags"]  # MetaInformAnt's `ecology run` flags
    assert seed_flags["--input"] == {"key": "input"}
    assert seed_flags["--beta-diversity"] == {"key": "beta_diversity", "switch": True}


def test_rna_plan_is_the_dry_run_of_the_bundled_spec(work: Path) -> None:
    config = work / "species.yaml"
    config.write_text("threads: 3\nwork_dir: elsewhere\n")
    code, domain_out, err = cli("rna", "plan", "--config", str(config), "--json")
    assert code == 0, err
    code, plain_out, err = cli(RNA, "--dry-run", "--config", str(config), "--json")
    assert code == 0, err
    assert json.loads(domain_out) == json.loads(plain_out)
    assert "elsewhere/" in domain_out
    code, domain_out, err = cli("rna", "status", "--config", str(config), "--json")
    assert code == 0, err
    assert domain_out == cli("status", RNA, "--config", str(config), "--json")[1]
    assert {row["state"] for row in json.loads(domain_out)["instances"]} >= {"never run"}


def test_gwas_run_status_and_check(work: Path) -> None:
    overrides = ["--set", f"work_dir={work / 'out'}", "--set", "use_pcs=false"]
    code, out, err = cli("gwas", "run", "--check", "-j", "2", *overrides)
    assert code == 0, err
    assert out.startswith(f"{GWAS}: ok — workflow 'gwas'")
    assert not (work / ".mi").exists() and not (work / "out").exists()  # validated only
    # Every run option still works after the domain words (-j, -q, -k, --backend, --set).
    code, _, err = cli("gwas", "run", "-j", "2", "-q", "-k", "--backend", "threads", *overrides)
    assert code == 0, err
    assert (work / "out/results/summary_statistics.tsv").is_file()
    code, out, err = cli("gwas", "status", *overrides)
    assert code == 0, err
    assert out.splitlines()[-1].startswith("summary: ") and "stale" not in out
    code, _, err = cli("gwas", "run", "--backend", "threads", *overrides)
    assert "all up to date — nothing to do" in err


def test_a_failed_domain_run_says_how_to_resume_in_the_domain_form(work: Path) -> None:
    (work / "bad.tsv").write_text("sample_id\theight\nnobody\t1.0\n")
    code, _, err = cli("gwas", "run", "--backend", "threads", "--set", f"work_dir={work}/o",
                       "--set", f"phenotypes={work / 'bad.tsv'}", "--set", "use_pcs=false",
                       "--set", f"genotypes={GWAS_EXAMPLE / 'example.bed'}")
    assert code == 1, err
    assert f"resume with: mi-run gwas run --backend threads --set work_dir={work}/o" in err


def test_unknown_verbs_and_misspelt_domains_are_usage_errors(work: Path) -> None:
    code, _, err = cli("rna")
    assert code == 2
    assert "say what to do in the rna domain" in err and "mi-run rna knows: run, plan" in err
    code, _, err = cli("gwas", "plto")
    assert code == 2 and "the gwas domain has no command 'plto'" in err and "plot" in err
    code, _, err = cli("rnaa", "plan")
    assert code == 2 and "did you mean 'mi-run rna ...'?" in err
    code, _, err = cli("domains", "nosuch", "run")
    assert code == 2 and "no domain named 'nosuch'" in err


def test_a_file_named_like_a_domain_stays_a_spec(work: Path) -> None:
    (work / "rna").write_text(textwrap.dedent("""
        name: mine
        steps:
          - name: hello
            run: echo hi > hello.txt
            outputs: {out: hello.txt}
        """))
    code, out, err = cli("rna", "--dry-run")
    assert code == 0, err
    assert "'rna' is a file here, so it runs as a spec" in err
    assert "mi-run domains rna ..." in err
    assert "hello" in out
    code, out, err = cli("domains", "rna", "plan")  # the domain, whatever is in the directory
    assert code == 0, err
    assert "quant" in out and "hello" not in out
    code, out, err = cli("domains", "rna", "run", "--check", "-j", "2")
    assert code == 0, err
    assert out.startswith(f"{RNA}: ok — workflow 'amalgkit'")


def _results(path: Path) -> None:
    rng = np.random.default_rng(7)
    rows = ["CHR\tPOS\tSNP\tP"]
    for chrom in (1, 2, 3):
        for i in range(300):
            rows.append(f"{chrom}\t{1000 * i + 1}\trs{chrom}_{i}\t{rng.uniform():.6g}")
    rows.append("2\t5001\trs_hit\t1e-12")  # a planted hit
    path.write_text("\n".join(rows) + "\n")


def test_gwas_plot_is_the_one_off_step(work: Path) -> None:
    _results(work / "results.tsv")
    code, out, err = cli("gwas", "plot", "--input", "results.tsv", "--type", "qq")
    assert code == 0, err
    assert out.split() == ["qq.png"]
    assert (work / "qq.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (work / "manhattan.png").exists()  # only the plot asked for
    code, out, err = cli("gwas", "plot", "--input", "results.tsv", "--output", "m.svg",
                         "--title", "planted")
    assert code == 0, err
    svg = ET.parse(work / "m.svg").getroot()
    assert svg.tag.endswith("svg")
    assert "rs_hit" in (work / "m.svg").read_text()  # the planted hit is labelled
    code, _, err = cli("gwas", "plot", "--input", "results.tsv", "--output", "m.txt")
    assert code == 2 and "gwas.plots writes 'manhattan' as .png, .svg, .pdf" in err
    code, _, err = cli("gwas", "plot", "--input", "absent.tsv")
    assert code == 2 and "input not found: absent.tsv" in err
    with pytest.raises(SystemExit) as stop:  # argparse: usage, and exit status 2
        cli("gwas", "plot", "--type", "pie", "--input", "results.tsv")
    assert stop.value.code == 2


def test_gwas_plot_names_missing_columns(work: Path) -> None:
    (work / "r.tsv").write_text("CHROM\tBP\tP\n1\t10\t0.5\n")
    code, _, err = cli("gwas", "plot", "--input", "r.tsv")
    assert code == 1
    assert "r.tsv has no column CHR, POS (columns: CHROM, BP, P)" in err


@pytest.fixture
def extra_domain(work: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A domain declared only by its library's ``_entry.DOMAIN``: no CLI edit."""
    root = work / "lib"
    package = root / "ecotest"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    spec = work / "eco.yaml"
    spec.write_text(textwrap.dedent("""
        name: eco
        config: {text: hello, loud: false}
        steps:
          - name: say
            run: echo {{ text }}{{ "!" if loud else "" }} > said.txt
            outputs: {out: said.txt}
        """))
    (package / "_entry.py").write_text(textwrap.dedent(f"""
        DOMAIN = {{
            "description": "a test domain",
            "spec": {str(spec)!r},
            "commands": {{"join": {{"step": "core.concat", "help": "join files", "arguments": {{
                "--first": {{"to": "input:parts", "required": True}},
                "--into": {{"to": "output:out", "default": "joined.txt"}},
            }}}}}},
            "config_flags": {{"--text": {{"key": "text"}}, "--loud": {{"key": "loud", "switch": True}}}},
        }}
        """))
    monkeypatch.setattr(stepslib, "__path__", [*stepslib.__path__, str(root)])
    yield root
    for name in [m for m in sys.modules if m.startswith("stepslib.ecotest")]:
        del sys.modules[name]


def test_a_new_domain_is_declared_not_wired(extra_domain: Path, work: Path) -> None:
    code, out, err = cli("domains")
    assert code == 0, err
    assert "ecotest: a test domain" in out and "  mi-run ecotest join" in out
    code, _, err = cli("ecotest", "run", "--set", "text=declared", "--backend", "threads")
    assert code == 0, err
    assert (work / "said.txt").read_text() == "declared\n"
    (work / "a.txt").write_text("A\n")
    code, out, err = cli("ecotest", "join", "--first", "a.txt")
    assert code == 0, err
    assert (work / "joined.txt").read_text() == "A\n"


def test_a_domain_run_takes_the_seeds_own_flags_as_config_keys(extra_domain: Path,
                                                               work: Path) -> None:
    code, out, err = cli("domains")
    assert "flags of run/plan/validate (each sets the config key of its name): --text --loud" in out
    code, _, err = cli("ecotest", "run", "--text", "seeded", "--loud", "-q", "--backend", "threads")
    assert code == 0, err
    assert (work / "said.txt").read_text() == "seeded!\n"
    code, _, err = cli("ecotest", "run", "--text=again", "--loud=false", "-q", "--backend", "threads")
    assert code == 0, err
    assert (work / "said.txt").read_text() == "again\n"
    code, _, err = cli("ecotest", "run", "--text")
    assert code == 2 and "--text needs a value" in err
