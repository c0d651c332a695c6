"""The whole evaluation: run (resumably), then write every report, figure and page."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import soundfile as sf

from rvqgan.eval.codecs import EvalCodec, Setting
from rvqgan.eval.listening import Trial, build_listening_page
from rvqgan.eval.report import summarize, write_results_csv, write_summary_csv, write_summary_md
from rvqgan.eval.runner import EvalOptions, clip_audio_dir, evaluate, load_usage, plot_clips, slug
from rvqgan.eval.testset import Clip


def listening_settings(codec: EvalCodec, max_per_codec: int = 4) -> list[Setting]:
    """Up to ``max_per_codec`` settings of a codec spread over its range, highest included
    (a 9-codebook model with 3 gives q3, q6, q9, the paper's 2.67 / 5.33 / 8 kbps)."""
    settings = list(codec.settings)
    if len(settings) <= max_per_codec:
        return settings
    picks = sorted({math.ceil(len(settings) * (i + 1) / max_per_codec) - 1 for i in range(max_per_codec)})
    return [settings[i] for i in picks]


def _read(path: Path):
    audio, _ = sf.read(path, dtype="float32")
    return audio


def write_outputs(
    out_dir: Path,
    rows: list[dict],
    clips: Sequence[Clip],
    codecs: Sequence[EvalCodec],
    options: EvalOptions,
    *,
    notes: Sequence[str] = (),
    command: str | None = None,
    plots: bool = True,
    listening: bool = True,
    listening_seconds: float = 6.0,
    max_per_codec: int = 4,
    seed: int = 0,
) -> dict[str, list[Path]]:
    """results.csv, summary.csv/.md, rate-distortion and spectrogram PNGs, listening page."""
    written: dict[str, list[Path]] = {"reports": [], "plots": [], "listening": []}
    write_results_csv(rows, out_dir / "results.csv")
    summary = summarize(rows)
    write_summary_csv(summary, out_dir / "summary.csv")
    write_summary_md(summary, out_dir / "summary.md", usage=load_usage(out_dir), notes=notes, command=command)
    written["reports"] += [out_dir / "results.csv", out_dir / "summary.csv", out_dir / "summary.md"]
    chosen = [(codec, s) for codec in codecs for s in listening_settings(codec, max_per_codec)]
    kept = plot_clips(clips, options.clips_for_plots)
    trials = []
    for clip in kept:
        folder = clip_audio_dir(out_dir, clip)
        files = [(f"{c.name} {s.label}", folder / f"{slug(c.name)}__{slug(s.label)}.flac") for c, s in chosen]
        if not (folder / "reference.flac").exists() or not all(p.exists() for _, p in files):
            continue
        reference = _read(folder / "reference.flac")
        conditions = [(label, _read(p)) for label, p in files]
        trials.append(Trial(f"{clip.domain}: {clip.id}", reference, conditions))
        if plots:
            from rvqgan.eval.plots import spectrogram_comparison

            path = out_dir / f"spectrogram_{slug(str(Path(clip.id).with_suffix('')))}.png"
            spectrogram_comparison([("reference", reference), *conditions], options.sample_rate, path, clip.id)
            written["plots"].append(path)
    if plots and rows:
        from rvqgan.eval.plots import rate_distortion

        written["plots"] += rate_distortion(summary, out_dir)
    if listening and trials:
        page = build_listening_page(
            trials, options.sample_rate, out_dir / "listening" / "index.html", seed=seed, seconds=listening_seconds
        )
        written["listening"].append(page)
    return written


def run_evaluation(
    clips: Sequence[Clip],
    codecs: Sequence[EvalCodec],
    out_dir: str | Path,
    options: EvalOptions | None = None,
    *,
    command: str | None = None,
    progress: bool = True,
    **output_options,
) -> tuple[list[dict], dict[str, list[Path]]]:
    """Evaluate (resuming from ``out_dir``) and write every output; returns rows and files.

    ``output_options`` go to :func:`write_outputs` (plots, listening, listening_seconds,
    max_per_codec, seed).
    """
    out_dir = Path(out_dir)
    options = options or EvalOptions()
    rows, suite = evaluate(clips, codecs, out_dir, options, progress=progress)
    config = {
        "command": command,
        "options": asdict(options),
        "clips": len(clips),
        "codecs": {c.name: [asdict(s) for s in c.settings] for c in codecs},
    }
    (out_dir / "run.json").write_text(json.dumps(config, indent=1))
    written = write_outputs(out_dir, rows, clips, codecs, options, notes=suite.notes, command=command, **output_options)
    return rows, written
