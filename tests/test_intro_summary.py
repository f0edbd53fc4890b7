"""scripts/intro_summary.py: the intro's first screen is counted from the conclusions' records."""
import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "intro_summary.py"


def _claim(source: str, verdict: str, own: bool = False) -> dict:
    return dict(source=source, claim=f"claim {source} {verdict}", chapter="3", verdict=verdict, own=own,
                evidence="e", measure="m")


def _run(tmp_path: Path, claims: list[dict], mode: str) -> str:
    results = tmp_path / "results"
    results.mkdir(parents=True)
    (results / "99_conclusions.json").write_text(json.dumps({"schema": 2, "figures": {"claims": claims}}))
    out = tmp_path / "summary.md"
    subprocess.run([sys.executable, str(SCRIPT), str(results), "--mode", mode, "-o", str(out)], check=True,
                   capture_output=True, text=True)
    return out.read_text()


CLAIMS = [_claim("Trask et al. 2018, Table 1", "contradicted"), _claim("Trask et al. 2018", "consistent"),
          _claim("Madsen & Johansen 2020", "underpowered"), _claim("Madsen & Johansen 2020, Table 2", "consistent"),
          _claim("the book", "consistent", own=True)]


def test_counts_each_sources_verdicts_and_keeps_own_findings_apart(tmp_path):
    text = _run(tmp_path, CLAIMS, "full")
    assert "of the 4 claims" in text and "**2 consistent**, **1 contradicted**, **1 underpowered**" in text
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in text.splitlines() if line.startswith("| ") and "source" not in line}
    assert rows == {"Madsen & Johansen 2020": ["1", "0", "1"], "Trask et al. 2018": ["1", "1", "0"]}
    assert "own findings" in text and "quick build" not in text


def test_the_quick_build_says_so_first(tmp_path):
    text = _run(tmp_path, CLAIMS, "quick")
    assert text.lstrip().startswith(":::{important}") and "quick build" in text.split(":::")[1]


def test_no_claims_is_a_clear_error(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "99_conclusions.json").write_text(json.dumps({"figures": {"claims": []}}))
    run = subprocess.run([sys.executable, str(SCRIPT), str(results), "--mode", "full", "-o", str(tmp_path / "s.md")],
                         capture_output=True, text=True)
    assert run.returncode != 0 and "claims" in run.stderr


def test_every_other_claim_only_when_every_decided_claim_is_listed(tmp_path):
    few = _run(tmp_path / "few", CLAIMS, "full")
    assert "Every other claim is underpowered" in few and "Contradicted by our runs: claim Trask" in few
    many = [_claim(f"Trask et al. 2018, Table {k}", "contradicted") for k in range(13)] + \
        [_claim("Madsen & Johansen 2020", "underpowered"), _claim("Madsen & Johansen 2020", "underpowered")]
    text = _run(tmp_path / "many", many, "full")
    assert "Contradicted by our runs" not in text  # 13 are too many to list on the first screen
    assert "Every other claim" not in text and "The 2 underpowered claims cannot be decided" in text


def test_column_headings_are_the_verdicts_breakable_only_at_soft_hyphens(tmp_path):
    header = next(line for line in _run(tmp_path, CLAIMS, "full").splitlines() if line.startswith("| source"))
    cells = [c.strip() for c in header.split("|")[2:-1]]
    assert [c.replace("\u00ad", "") for c in cells] == ["consistent", "contradicted", "underpowered"]
    assert all("\u00ad" in c for c in cells)
