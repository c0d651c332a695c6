"""Reports: confidence intervals on known numbers, CSV and Markdown structure."""

from __future__ import annotations

import csv
import math

import pytest

from rvqgan.eval.metrics import METRICS
from rvqgan.eval.report import (
    markdown_tables,
    mean_ci,
    summarize,
    t_quantile,
    write_results_csv,
    write_summary_md,
)
from rvqgan.eval.runner import ROW_FIELDS
from rvqgan.eval.usage import CodeUsage


@pytest.mark.parametrize(
    ("df", "expected"), [(1, 12.706205), (2, 4.302653), (4, 2.776445), (10, 2.228139), (29, 2.045230), (1000, 1.962339)]
)
def test_student_t_quantiles_match_the_tables(df, expected):
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=2e-6)
    assert t_quantile(0.025, df) == pytest.approx(-expected, abs=2e-6)


def test_mean_ci_on_known_numbers():
    mean, half, n = mean_ci([1, 2, 3, 4, 5])
    # sd = sqrt(2.5), t(0.975, 4) = 2.776445
    assert (mean, n) == (3.0, 5)
    assert half == pytest.approx(2.776445 * math.sqrt(2.5) / math.sqrt(5), abs=1e-5)
    mean, half, n = mean_ci([2.0, math.nan, 4.0])  # NaN left out
    assert (mean, n) == (3.0, 2) and half == pytest.approx(12.706205 * math.sqrt(2) / math.sqrt(2), abs=1e-5)
    assert mean_ci([7.0])[0] == 7.0 and math.isnan(mean_ci([7.0])[1])
    assert math.isnan(mean_ci([])[0])


def _row(clip, domain, codec, setting, kbps, mel, pesq=math.nan):
    row = dict.fromkeys(ROW_FIELDS, 0)
    row.update(dict.fromkeys(METRICS, math.nan))
    row.update(
        clip=clip,
        domain=domain,
        full_band=False,
        codec=codec,
        setting=setting,
        nominal_kbps=kbps,
        kbps=kbps,
        mel=mel,
        pesq=pesq,
    )
    return row


ROWS = [
    _row("s1", "speech", "opus", "6kbps", 6.0, 2.0, pesq=1.5),
    _row("s2", "speech", "opus", "6kbps", 6.2, 4.0, pesq=2.5),
    _row("m1", "music", "opus", "6kbps", 6.1, 3.0),
    _row("s1", "speech", "opus", "24kbps", 24.0, 1.0, pesq=4.0),
    _row("s2", "speech", "opus", "24kbps", 24.0, 1.0, pesq=4.0),
    _row("m1", "music", "opus", "24kbps", 24.0, 1.0),
]


def test_summary_groups_by_codec_setting_and_domain():
    summary = summarize(ROWS)
    keys = [(e["codec"], e["setting"], e["domain"]) for e in summary]
    assert keys == [
        ("opus", "6kbps", "all"),
        ("opus", "6kbps", "speech"),
        ("opus", "6kbps", "music"),
        ("opus", "24kbps", "all"),
        ("opus", "24kbps", "speech"),
        ("opus", "24kbps", "music"),
    ]
    low_all, low_speech = summary[0], summary[1]
    assert low_all["n"] == 3 and low_all["mel"] == 3.0
    assert low_all["mel_ci"] == pytest.approx(4.302653 * 1.0 / math.sqrt(3), abs=1e-5)
    assert low_all["pesq"] == 2.0 and low_all["pesq_n"] == 2  # music has no PESQ
    assert low_speech["kbps"] == pytest.approx(6.1)
    assert summary[3]["mel_ci"] == 0.0  # no spread


def test_results_csv_has_one_line_per_row_and_empty_nans(tmp_path):
    path = tmp_path / "results.csv"
    write_results_csv(ROWS, path)
    with open(path, newline="") as handle:
        lines = list(csv.DictReader(handle))
    assert len(lines) == len(ROWS)
    assert list(lines[0]) == list(ROW_FIELDS)
    assert lines[2]["pesq"] == "" and lines[0]["pesq"] == "1.5"


def test_markdown_has_a_table_per_domain_with_cis(tmp_path):
    text = markdown_tables(summarize(ROWS))
    sections = text.split("### ")[1:]
    assert [s.splitlines()[0] for s in sections] == ["all", "music", "speech"]
    music = sections[1].splitlines()
    header = music[2]
    assert "PESQ" not in header and "mel ↓" in header and "SI-SDR" not in header  # columns with values only
    assert music[3].count("|") == header.count("|")
    assert len([line for line in music if line.startswith("| opus")]) == 2
    speech = sections[2]
    assert "| opus | 6kbps | 6.10 ± 1.27 | 2 | 3.00 ± 12.71 | 2.00 ± 6.35 |" in speech
    usage = CodeUsage(4, clips=["a"])
    usage.add([[0, 1], [2, 2]], "b")
    write_summary_md(summarize(ROWS), tmp_path / "summary.md", usage={"m": usage}, notes=["x", "x"], command="cmd")
    doc = (tmp_path / "summary.md").read_text()
    assert doc.count("- x") == 1 and "```\ncmd\n```" in doc and "| 1 | 50.0% | 1.000 | 50.0% |" in doc
