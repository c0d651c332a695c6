"""Figures of an evaluation: rate-distortion curves and spectrogram comparisons.

matplotlib is an optional dependency (the ``eval`` extra). Figures are drawn on the Agg
canvas directly, without pyplot, so nothing global (backend, current figure) is touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rvqgan.errors import InputError
from rvqgan.eval.metrics import HIGHER_IS_BETTER, METRICS
from rvqgan.eval.report import LABELS


def _figure(width: float, height: float):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise InputError("plots need matplotlib: pip install 'rvqgan[eval]' (or pass --no-plots)") from None
    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def _plain_formatter():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _: f"{value:g}")


def rate_distortion(summary: Sequence[dict], out_dir: str | Path, metrics: Sequence[str] = METRICS) -> list[Path]:
    """``rate_distortion_<metric>.png``: metric against measured kbps, one curve per codec,
    one panel per domain (``all`` first), 95% CIs as error bars.

    Returns:
        the files written (metrics without any value are skipped).
    """
    out_dir = Path(out_dir)
    written = []
    domains = sorted({e["domain"] for e in summary}, key=lambda d: (d != "all", d))
    codecs = list(dict.fromkeys(e["codec"] for e in summary))
    for metric in metrics:
        if not any(e[f"{metric}_n"] for e in summary):
            continue
        panels = [d for d in domains if any(e[f"{metric}_n"] for e in summary if e["domain"] == d)]
        figure = _figure(4.2 * len(panels), 3.6)
        for index, domain in enumerate(panels):
            axes = figure.add_subplot(1, len(panels), index + 1)
            for codec in codecs:
                points = [e for e in summary if e["codec"] == codec and e["domain"] == domain and e[f"{metric}_n"]]
                if not points:
                    continue
                points.sort(key=lambda e: e["kbps"])
                x = [e["kbps"] for e in points]
                y = [e[metric] for e in points]
                err = [0.0 if not np.isfinite(e[f"{metric}_ci"]) else e[f"{metric}_ci"] for e in points]
                axes.errorbar(x, y, yerr=err, marker="o", markersize=3, capsize=2, label=codec)
            axes.set_xscale("log", base=2)
            axes.xaxis.set_major_formatter(_plain_formatter())
            axes.set_xlabel("measured kbps")
            arrow = "higher is better" if HIGHER_IS_BETTER[metric] else "lower is better"
            axes.set_ylabel(f"{LABELS[metric]} ({arrow})")
            axes.set_title(domain)
            axes.grid(True, alpha=0.3)
            axes.legend(fontsize=7)
        figure.tight_layout()
        path = out_dir / f"rate_distortion_{metric}.png"
        figure.savefig(path)
        written.append(path)
    return written


def log_spectrogram(audio: np.ndarray, n_fft: int = 2048, hop: int = 512) -> np.ndarray:
    """Magnitude in dB (re. full scale), shape (n_fft // 2 + 1, frames), Hann window."""
    audio = np.asarray(audio, np.float64)
    if audio.shape[0] < n_fft:
        audio = np.pad(audio, (0, n_fft - audio.shape[0]))
    frames = 1 + (audio.shape[0] - n_fft) // hop
    index = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    window = np.hanning(n_fft)
    spectrum = np.abs(np.fft.rfft(audio[index] * window, axis=1)).T
    return 20 * np.log10(np.maximum(spectrum / (window.sum() / 2), 1e-6))


def spectrogram_comparison(
    conditions: Sequence[tuple[str, np.ndarray]], sample_rate: int, path: str | Path, title: str = ""
) -> Path:
    """One PNG with a spectrogram per condition (the reference first), stacked.

    Args:
        conditions: (label, audio (T,)) pairs.
        sample_rate: rate of every signal in Hz.
        path: PNG to write.
    """
    figure = _figure(9, 1.7 * len(conditions) + 0.6)
    for index, (label, audio) in enumerate(conditions):
        axes = figure.add_subplot(len(conditions), 1, index + 1)
        spec = log_spectrogram(audio)
        seconds = len(audio) / sample_rate
        axes.imshow(
            spec,
            origin="lower",
            aspect="auto",
            cmap="magma",
            vmin=-100,
            vmax=0,
            extent=(0, seconds, 0, sample_rate / 2000),
        )
        axes.set_ylabel("kHz")
        axes.text(0.005, 0.92, label, transform=axes.transAxes, color="white", fontsize=8, va="top")
        if index < len(conditions) - 1:
            axes.set_xticklabels([])
    figure.axes[-1].set_xlabel("seconds")
    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path)
    return Path(path)
