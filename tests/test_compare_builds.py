"""scripts/compare_builds.py: figures matched by name across two builds, moves beyond the tolerance, verdict changes."""
import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "compare_builds.py"


def _write(d: Path, name: str, data: dict) -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{name}.json").write_text(json.dumps(data))


def _claim(verdict: str) -> dict:
    return dict(chapter="2", source="S", claim="c", measure="m", verdict=verdict, own=False, evidence="e")


def _run(old: Path, new: Path) -> str:
    out = subprocess.run([sys.executable, str(SCRIPT), str(old), str(new)], capture_output=True, text=True, check=True)
    return out.stdout


def test_reports_moved_new_dropped_and_verdict_changes(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    _write(old, "02_nac", {"rate": 0.5, "steps": 100, "gone": 1.0})  # a build before the results schema
    _write(new, "02_nac", {"schema": 2, "figures": {"rate": 0.5000001, "steps": 200, "added": 3.0}})
    _write(old, "99_conclusions", {"figures": {"claims": [_claim("underpowered")]}})
    _write(new, "99_conclusions", {"figures": {"claims": [_claim("consistent")]}})
    text = _run(old, new)
    assert "02_nac: 2 figures in both, 1 new, 1 dropped, 1 moved beyond 0.0001" in text
    assert "steps: 100.0 -> 200.0" in text and "rate:" not in text  # a float-rounding change is not a move
    assert "underpowered -> consistent" in text


def test_refuses_a_folder_without_results(tmp_path):
    (tmp_path / "empty").mkdir()
    _write(tmp_path / "new", "02_nac", {"figures": {}})
    out = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "empty"), str(tmp_path / "new")],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "holds no results" in out.stderr
