"""Reports of an evaluation: the per-clip CSV, and means with 95% confidence intervals.

A confidence interval is the Student-t interval of the mean over clips:
``mean +- t(0.975, n - 1) * s / sqrt(n)`` with ``s`` the sample standard deviation; clips
where a metric is undefined (NaN) are left out of that metric's mean. The ``all`` rows
pool every clip, so with the paper's balanced test set they weigh domains equally.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

from rvqgan.eval.metrics import HIGHER_IS_BETTER, METRICS
from rvqgan.eval.runner import ROW_FIELDS
from rvqgan.eval.usage import CodeUsage

LABELS = {
    "mel": "mel",
    "stft": "STFT",
    "sisdr": "SI-SDR (dB)",
    "visqol": "ViSQOL",
    "pesq": "PESQ-WB",
    "stoi": "STOI",
    "visqol_speech": "ViSQOL speech",
}
SUMMARY_FIELDS = ("codec", "setting", "domain", "n", "nominal_kbps", "kbps", "kbps_ci")


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularized incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 500):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return result


def incomplete_beta(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function ``I_x(a, b)``."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    # The continued fraction converges fast only for x below (a + 1) / (a + b + 2).
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1 - x) / b


def t_cdf(t: float, df: float) -> float:
    """Cumulative distribution function of Student's t with ``df`` degrees of freedom."""
    tail = 0.5 * incomplete_beta(df / 2, 0.5, df / (df + t * t))
    return 1 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """Quantile of Student's t (bisection on :func:`t_cdf`; ~1e-10 accurate)."""
    if not 0 < p < 1:
        raise ValueError(f"p must be in (0, 1), got {p}")
    if p < 0.5:
        return -t_quantile(1 - p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        high *= 2
    for _ in range(200):
        mid = (low + high) / 2
        if t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
        if high - low < 1e-12:
            break
    return (low + high) / 2


def mean_ci(values: Iterable[float], level: float = 0.95) -> tuple[float, float, int]:
    """Mean, half-width of its ``level`` confidence interval, and count of finite values.

    One value gives a NaN half-width; none gives NaN for both.
    """
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(finite)
    if n == 0:
        return math.nan, math.nan, 0
    mean = sum(finite) / n
    if n == 1:
        return mean, math.nan, 1
    sd = math.sqrt(sum((v - mean) ** 2 for v in finite) / (n - 1))
    return mean, t_quantile(0.5 + level / 2, n - 1) * sd / math.sqrt(n), n


def write_results_csv(rows: Sequence[dict], path: str | Path) -> None:
    """One line per clip x codec x setting with every metric and the measured kbps."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(ROW_FIELDS), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()})


def summarize(rows: Sequence[dict]) -> list[dict]:
    """Mean and CI of every metric per codec x setting x domain, plus domain ``all``.

    Groups keep the order in which rows first name them; ``all`` comes first in each.
    """
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for row in rows:
        for domain in ("all", row["domain"]):
            groups.setdefault((row["codec"], row["setting"], domain), []).append(row)
    summary = []
    for (codec, setting, domain), members in groups.items():
        entry: dict = {
            "codec": codec,
            "setting": setting,
            "domain": domain,
            "n": len(members),
            "nominal_kbps": members[0]["nominal_kbps"],
        }
        entry["kbps"], entry["kbps_ci"], _ = mean_ci(r["kbps"] for r in members)
        for metric in METRICS:
            entry[metric], entry[f"{metric}_ci"], entry[f"{metric}_n"] = mean_ci(r.get(metric) for r in members)
        summary.append(entry)
    return summary


def write_summary_csv(summary: Sequence[dict], path: str | Path) -> None:
    fields = list(SUMMARY_FIELDS) + [f"{m}{s}" for m in METRICS for s in ("", "_ci", "_n")]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(summary)


def _cell(mean: float, half: float, digits: int = 2) -> str:
    if not math.isfinite(mean):
        return "–"
    return f"{mean:.{digits}f}" if not math.isfinite(half) else f"{mean:.{digits}f} ± {half:.{digits}f}"


def markdown_tables(summary: Sequence[dict]) -> str:
    """One Markdown table per domain: codec, setting, measured kbps, clips, metric columns.

    A metric column appears in a domain's table only if some clip of it has a value.
    """
    parts = []
    domains = sorted({e["domain"] for e in summary}, key=lambda d: (d != "all", d))
    for domain in domains:
        entries = [e for e in summary if e["domain"] == domain]
        metrics = [m for m in METRICS if any(e[f"{m}_n"] for e in entries)]
        arrows = ["↑" if HIGHER_IS_BETTER[m] else "↓" for m in metrics]
        head = ["codec", "setting", "kbps (measured)", "clips"] + [f"{LABELS[m]} {a}" for m, a in zip(metrics, arrows)]
        lines = [f"### {domain}", "", "| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
        for e in entries:
            cells = [e["codec"], e["setting"], _cell(e["kbps"], e["kbps_ci"]), str(e["n"])]
            cells += [_cell(e[m], e[f"{m}_ci"], 3 if m in ("stoi",) else 2) for m in metrics]
            lines.append("| " + " | ".join(cells) + " |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def usage_markdown(usage: dict[str, CodeUsage]) -> str:
    """Per-codebook utilization and entropy, and bitrate efficiency, of each model."""
    parts = []
    for name, item in usage.items():
        table = item.table()
        if not table:
            continue
        bits = math.log2(item.codebook_size)
        lines = [
            f"### {name} ({len(item.clips)} clips, {bits:g} bits per code)",
            "",
            "| codebook | utilization | entropy (bits) | efficiency of codebooks 1..k |",
            "| --- | --- | --- | --- |",
        ]
        for r in table:
            lines.append(
                f"| {r['codebook']} | {100 * r['utilization']:.1f}% | {r['entropy_bits']:.3f} | "
                f"{100 * r['efficiency_first_k']:.1f}% |"
            )
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + ("\n" if parts else "")


def write_summary_md(
    summary: Sequence[dict],
    path: str | Path,
    *,
    usage: dict[str, CodeUsage] | None = None,
    notes: Sequence[str] = (),
    command: str | None = None,
) -> None:
    """``summary.md``: the command, per-domain tables (mean ± 95% CI), codebook usage, notes."""
    text = ["# Evaluation summary", ""]
    if command:
        text += ["```", command, "```", ""]
    text += [
        "Means over clips ± half-width of the 95% Student-t confidence interval. `kbps (measured)` is",
        "the bitrate from the bytes of coded audio the codec produced (container overhead excluded;",
        "see docs/evaluation.md). ↓: lower is better, ↑: higher is better.",
        "",
        markdown_tables(summary),
    ]
    if usage:
        text += ["## Codebook usage (whole test set)", "", usage_markdown(usage)]
    if notes:
        text += ["## Notes", ""] + [f"- {n}" for n in dict.fromkeys(notes)] + [""]
    Path(path).write_text("\n".join(text), encoding="utf-8")
