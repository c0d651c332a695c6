"""benchmarks/compare_evals.py: paired per-clip differences, within a folder and across settings."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.conftest import load_repo_script


def load_script():
    return load_repo_script("benchmarks/compare_evals.py")


def _write(folder: Path, rows: list[tuple[str, str, str, str, float, float, float]]) -> None:
    folder.mkdir()
    with (folder / "results.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["clip", "domain", "codec", "setting", "mel", "stft", "sisdr"])
        writer.writerows(rows)


def _table(output: str) -> dict[tuple[str, str], list[str]]:
    rows = [line.strip("|").split("|") for line in output.splitlines() if line.startswith("| ") and "---" not in line]
    return {(cells[1].strip(), cells[2].strip()): [c.strip() for c in cells] for cells in rows[1:]}


def test_a_codec_pinned_to_one_setting_is_the_baseline_of_every_compared_setting(tmp_path, capsys):
    compare = load_script()
    rows = []
    for i, domain in enumerate(("speech", "speech", "music")):
        clip = f"{domain}/{i}.flac"
        rows += [(clip, domain, "opus", "8kbps", 3.0, 6.0, 2.0 + i), (clip, domain, "opus", "12kbps", 2.0, 4.0, 7.0),
                 (clip, domain, "model", "q9", 2.0, 3.0, 1.0 + 2 * i), (clip, domain, "model", "q7", 1.5, 2.5, 0.0)]
    _write(tmp_path / "eval", rows)
    folder = str(tmp_path / "eval")
    compare.main([f"{folder}:opus@8kbps", f"{folder}:model", "--settings", "q9"])
    table = _table(capsys.readouterr().out)
    # SI-SDR differences per clip: (1 - 2), (3 - 3), (5 - 4) -> mean 0, one clip better.
    assert table["q9", "sisdr"][3:5] == ["3.00", "3.00"] and table["q9", "sisdr"][5].startswith("+0.00")
    assert table["q9", "sisdr"][7] == "1/3" and table["q9", "mel"][7] == "3/3"
    compare.main([f"{folder}:opus@8kbps", f"{folder}:model", "--settings", "q9", "--domain", "speech"])
    table = _table(capsys.readouterr().out)
    assert table["q9", "sisdr"][3:5] == ["2.50", "2.00"] and table["q9", "sisdr"][7] == "0/2"
    with pytest.raises(SystemExit, match="at 6kbps"):
        compare.main([f"{folder}:opus@6kbps", f"{folder}:model"])
    with pytest.raises(SystemExit, match="holds codecs"):
        compare.main([folder, f"{folder}:model"])
