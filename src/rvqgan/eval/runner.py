"""Resumable evaluation of codecs over a test set.

The unit of work is a (clip, codec) pair: the clip is coded at every setting of the
codec and each result scored. When a pair is done, its rows are appended as one JSON
line to ``results.jsonl`` (flushed and synced), after the side files it feeds (codebook
usage, audio kept for plots) are written. A rerun with the same output folder reads the
file, drops a torn last line, and skips every (clip, codec, setting) already there, so an
interrupted run resumes where it stopped and never duplicates a row.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from rvqgan.errors import InputError
from rvqgan.eval.codecs import EvalCodec
from rvqgan.eval.metrics import METRICS, MetricSuite
from rvqgan.eval.testset import Clip, read_clip
from rvqgan.eval.usage import CodeUsage

RESULTS = "results.jsonl"
ROW_FIELDS = (
    "clip",
    "domain",
    "full_band",
    "duration",
    "codec",
    "setting",
    "codec_sample_rate",
    "nominal_kbps",
    "kbps",
    "file_kbps",
    "payload_bytes",
    "file_bytes",
    "delay_samples",
    *METRICS,
)


@dataclass(frozen=True)
class EvalOptions:
    """How clips are scored.

    Attributes:
        sample_rate: rate at which every metric is computed (the test set's, 44.1 kHz).
        visqol: compute ViSQOL when installed (about 1 s per 10-s clip and setting).
        speech_metrics: PESQ and STOI (and speech-mode ViSQOL) on speech clips.
        clips_for_plots: clips whose decoded audio is kept for spectrograms and the
            listening page (picked round-robin over domains).
        max_seconds: score only the first seconds of each clip (``None``: whole clip).
    """

    sample_rate: int = 44100
    visqol: bool = True
    speech_metrics: bool = True
    clips_for_plots: int = 3
    max_seconds: float | None = None


def slug(text: str) -> str:
    """A file-name-safe version of ``text``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "x"


def load_results(out_dir: Path) -> list[dict]:
    """Rows of ``results.jsonl``; a torn last line (interrupted write) is cut off the file."""
    path = out_dir / RESULTS
    if not path.exists():
        return []
    rows: list[dict] = []
    good = 0
    with open(path, "rb") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except ValueError:
                break
            if not line.endswith(b"\n"):
                break
            rows.extend(record["rows"])
            good += len(line)
    if good != path.stat().st_size:
        with open(path, "r+b") as handle:
            handle.truncate(good)
    return rows


def _append(out_dir: Path, clip: Clip, codec: EvalCodec, rows: list[dict]) -> None:
    line = json.dumps({"clip": clip.id, "codec": codec.name, "rows": rows}, allow_nan=True) + "\n"
    with open(out_dir / RESULTS, "a", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())


def plot_clips(clips: Sequence[Clip], count: int) -> list[Clip]:
    """``count`` clips taken round-robin over domains (first clips of each domain first)."""
    by_domain: dict[str, list[Clip]] = {}
    for clip in clips:
        by_domain.setdefault(clip.domain, []).append(clip)
    chosen: list[Clip] = []
    depth = 0
    while len(chosen) < count and any(depth < len(v) for v in by_domain.values()):
        for group in by_domain.values():
            if depth < len(group) and len(chosen) < count:
                chosen.append(group[depth])
        depth += 1
    return chosen


def clip_audio_dir(out_dir: Path, clip: Clip) -> Path:
    """Folder holding a plot clip's reference and decoded audio."""
    return out_dir / "audio" / slug(clip.id)


def _save_audio(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".partial")
    sf.write(temp, np.clip(audio, -1, 1), sample_rate, subtype="PCM_24", format="FLAC")
    os.replace(temp, path)


def _update_usage(out_dir: Path, codec: EvalCodec, clip: Clip, codes: np.ndarray) -> None:
    path = out_dir / "code_usage" / f"{slug(codec.name)}.json"
    usage = CodeUsage.from_dict(json.loads(path.read_text())) if path.exists() else CodeUsage(codec.codebook_size)
    if usage.add(codes, clip.id):
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(path.name + ".partial")
        temp.write_text(json.dumps(usage.to_dict()))
        os.replace(temp, path)


def load_usage(out_dir: Path) -> dict[str, CodeUsage]:
    """Codebook usage of each model codec evaluated in ``out_dir``, by file stem."""
    folder = out_dir / "code_usage"
    if not folder.is_dir():
        return {}
    return {p.stem: CodeUsage.from_dict(json.loads(p.read_text())) for p in sorted(folder.glob("*.json"))}


def _score_pair(
    clip: Clip,
    codec: EvalCodec,
    todo,
    audio: np.ndarray,
    suite: MetricSuite,
    out_dir: Path,
    keep_audio: bool,
    options: EvalOptions,
) -> list[dict]:
    run = codec.code(audio, options.sample_rate, todo)
    if run.codes is not None and codec.codebook_size:
        _update_usage(out_dir, codec, clip, run.codes)
    seconds = audio.shape[0] / options.sample_rate
    rows = []
    for coded in run.coded:
        setting = coded.setting
        if keep_audio:
            _save_audio(
                clip_audio_dir(out_dir, clip) / f"{slug(codec.name)}__{slug(setting.label)}.flac",
                coded.audio,
                options.sample_rate,
            )
        row = {
            "clip": clip.id,
            "domain": clip.domain,
            "full_band": clip.full_band,
            "duration": round(seconds, 4),
            "codec": codec.name,
            "setting": setting.label,
            "codec_sample_rate": setting.sample_rate,
            "nominal_kbps": setting.nominal_kbps,
            "kbps": coded.payload_bytes * 8 / seconds / 1000,
            "file_kbps": coded.file_bytes * 8 / seconds / 1000,
            "payload_bytes": coded.payload_bytes,
            "file_bytes": coded.file_bytes,
            "delay_samples": coded.delay,
        }
        row.update(suite(audio, coded.audio, clip.domain))
        rows.append(row)
    return rows


def evaluate(
    clips: Sequence[Clip],
    codecs: Sequence[EvalCodec],
    out_dir: str | Path,
    options: EvalOptions | None = None,
    *,
    progress: bool = True,
) -> tuple[list[dict], MetricSuite]:
    """Evaluate every codec on every clip, resuming from ``out_dir/results.jsonl``.

    Returns:
        all rows (earlier runs' included), ordered by clip, codec and setting, and the
        metric suite (its ``notes`` say which optional metrics were skipped).
    """
    options = options or EvalOptions()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = [c.name for c in codecs]
    if len(set(names)) != len(names):
        raise InputError(f"codec names must be unique in one evaluation, got {names}; name models model:PATH:NAME")
    done = {(r["clip"], r["codec"], r["setting"]) for r in load_results(out_dir)}
    keep = {c.id for c in plot_clips(clips, options.clips_for_plots)}
    suite = MetricSuite(options.sample_rate, visqol=options.visqol, speech=options.speech_metrics)
    pairs = [(clip, codec) for clip in clips for codec in codecs]
    todo_of = {
        (clip.id, codec.name): [s for s in codec.settings if (clip.id, codec.name, s.label) not in done]
        for clip, codec in pairs
    }
    remaining = sum(1 for key in todo_of if todo_of[key])
    bar = tqdm(
        total=len(pairs),
        initial=len(pairs) - remaining,
        desc="clip x codec",
        disable=not progress,
        unit="pair",
        dynamic_ncols=True,
    )
    try:
        for clip in clips:
            if not any(todo_of[(clip.id, c.name)] for c in codecs):
                continue
            audio = read_clip(clip, options.sample_rate, options.max_seconds)
            if clip.id in keep:
                _save_audio(clip_audio_dir(out_dir, clip) / "reference.flac", audio, options.sample_rate)
            for codec in codecs:
                todo = todo_of[(clip.id, codec.name)]
                if not todo:
                    continue
                bar.set_postfix_str(f"{codec.name} {Path(clip.id).name}"[:40])
                rows = _score_pair(clip, codec, todo, audio, suite, out_dir, clip.id in keep, options)
                _append(out_dir, clip, codec, rows)
                bar.update(1)
    finally:
        bar.close()
    return ordered_rows(load_results(out_dir), clips, codecs), suite


def ordered_rows(rows: list[dict], clips: Sequence[Clip], codecs: Sequence[EvalCodec]) -> list[dict]:
    """The rows of these clips, codecs and settings, in a fixed order (clip, codec, setting as
    given) whatever order they were made in; rows of other runs in the same folder are left out."""
    clip_rank = {c.id: i for i, c in enumerate(clips)}
    codec_rank = {c.name: i for i, c in enumerate(codecs)}
    setting_rank = {(c.name, s.label): i for c in codecs for i, s in enumerate(c.settings)}

    def key(row: dict) -> tuple:
        return (
            clip_rank.get(row["clip"], math.inf),
            codec_rank.get(row["codec"], math.inf),
            setting_rank.get((row["codec"], row["setting"]), math.inf),
            row["clip"],
            row["codec"],
            row["setting"],
        )

    wanted = [r for r in rows if r["clip"] in clip_rank and (r["codec"], r["setting"]) in setting_rank]
    return sorted(wanted, key=key)
