"""A self-contained MUSHRA-style listening page (ITU-R BS.1534 in spirit).

Each trial plays an open reference and, in a seeded random order under neutral letters,
every condition: the codecs, a hidden copy of the reference, and a 3.5 kHz low-pass
anchor. The listener rates each from 0 to 100 with a slider; a button downloads the
ratings as CSV (``trial,clip,condition_id,true_name,rating``). The audio is embedded as
FLAC data URIs, so the one HTML file works offline and can be mailed around. The true
names are in the page (in its script), which is fine for a self-run test but means the
page must not be used where listeners could read its source.
"""

from __future__ import annotations

import base64
import html
import io
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from rvqgan.errors import InputError

HIDDEN_REFERENCE = "hidden_reference"
ANCHOR = "anchor_lp3.5k"


@dataclass
class Trial:
    """One screen of the test.

    Attributes:
        clip: name shown to the listener and written in the CSV.
        reference: shape (T,), the original.
        conditions: (true name, audio (T,)) of each codec under test.
    """

    clip: str
    reference: np.ndarray
    conditions: list[tuple[str, np.ndarray]] = field(default_factory=list)


def lowpass(audio: np.ndarray, sample_rate: int, cutoff: float = 3500.0, transition: float = 200.0) -> np.ndarray:
    """Zero-phase low-pass (FFT mask with a raised-cosine edge from ``cutoff`` to
    ``cutoff + transition`` Hz), the classic MUSHRA anchor."""
    audio = np.asarray(audio, np.float64)
    spectrum = np.fft.rfft(audio)
    freqs = np.fft.rfftfreq(audio.shape[0], 1 / sample_rate)
    ramp = np.clip((freqs - cutoff) / transition, 0, 1)
    spectrum *= 0.5 * (1 + np.cos(np.pi * ramp))
    return np.fft.irfft(spectrum, audio.shape[0]).astype(np.float32)


def flac_data_uri(audio: np.ndarray, sample_rate: int) -> str:
    """``data:audio/flac;base64,...`` of a 16-bit mono FLAC of ``audio`` (clipped to ±1)."""
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(np.asarray(audio, np.float32), -1, 1), sample_rate, format="FLAC", subtype="PCM_16")
    return "data:audio/flac;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def trial_order(trial_index: int, names: Sequence[str], seed: int) -> list[str]:
    """The seeded presentation order of a trial's conditions (same seed, same page)."""
    order = list(names)
    random.Random(f"{seed}:{trial_index}").shuffle(order)
    return order


_STYLE = """
body{font-family:sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem;color:#222}
section.trial{border:1px solid #bbb;border-radius:6px;padding:.6rem 1rem;margin:1rem 0}
table{border-collapse:collapse;width:100%}td{padding:.25rem .5rem}
.cid{font-weight:bold;width:2.5rem}input[type=range]{width:100%}output{display:inline-block;width:2.5rem}
audio{height:2rem}button{font-size:1rem;padding:.4rem 1rem}
"""

_SCRIPT = """
const TRIALS = JSON.parse(document.getElementById('trials').textContent);
function ratingsCsv() {
  const lines = ['trial,clip,condition_id,true_name,rating'];
  const q = s => '"' + String(s).replace(/"/g, '""') + '"';
  TRIALS.forEach((trial, t) => trial.conditions.forEach(c => {
    const slider = document.getElementById('rate-' + t + '-' + c.id);
    lines.push([t + 1, q(trial.clip), c.id, q(c.name), slider.value].join(','));
  }));
  return lines.join('\\n') + '\\n';
}
function downloadRatings() {
  const blob = new Blob([ratingsCsv()], {type: 'text/csv'});
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = 'ratings.csv';
  document.body.appendChild(link);
  link.click();
  link.remove();
}
document.querySelectorAll('input[type=range]').forEach(s => s.addEventListener('input', () => {
  document.getElementById(s.id.replace('rate-', 'value-')).value = s.value;
}));
// Only one sound at a time: starting one pauses the others.
document.querySelectorAll('audio').forEach(a => a.addEventListener('play', () => {
  document.querySelectorAll('audio').forEach(b => { if (b !== a) b.pause(); });
}));
document.getElementById('download').addEventListener('click', downloadRatings);
"""


def _trial_html(index: int, trial: Trial, order: list[str], uris: dict[str, str], ref_uri: str) -> str:
    rows = []
    for position, name in enumerate(order):
        cid = chr(ord("A") + position)
        rows.append(
            f'<tr><td class="cid">{cid}</td><td><audio controls preload="metadata" src="{uris[name]}"></audio></td>'
            f'<td><input type="range" min="0" max="100" step="1" value="0" id="rate-{index}-{cid}" '
            f'aria-label="rating of {cid}"></td><td><output id="value-{index}-{cid}">0</output></td></tr>'
        )
    return (
        f'<section class="trial" id="trial-{index}"><h2>Trial {index + 1}: {html.escape(trial.clip)}</h2>'
        f'<p>Reference: <audio controls preload="metadata" src="{ref_uri}"></audio></p>'
        f"<table>{''.join(rows)}</table></section>"
    )


def build_listening_page(
    trials: Sequence[Trial],
    sample_rate: int,
    path: str | Path,
    *,
    seed: int = 0,
    seconds: float = 6.0,
    title: str = "rvqgan listening test",
) -> Path:
    """Write the page.

    Args:
        trials: the trials, in the order shown.
        sample_rate: rate of every signal in Hz.
        path: HTML file to write (its folder is created).
        seed: seed of the condition order.
        seconds: each signal is cut to its first ``seconds``.
    """
    if not trials:
        raise InputError("a listening page needs at least one trial")
    length = int(seconds * sample_rate)
    sections, data = [], []
    for index, trial in enumerate(trials):
        reference = np.asarray(trial.reference, np.float32)[:length]
        signals = {name: np.asarray(audio, np.float32)[:length] for name, audio in trial.conditions}
        if HIDDEN_REFERENCE in signals or ANCHOR in signals or len(signals) != len(trial.conditions):
            raise InputError(f"condition names of trial {trial.clip!r} must be unique and not reserved")
        signals[HIDDEN_REFERENCE] = reference
        signals[ANCHOR] = lowpass(reference, sample_rate)
        order = trial_order(index, list(signals), seed)
        uris = {name: flac_data_uri(audio, sample_rate) for name, audio in signals.items()}
        sections.append(_trial_html(index, trial, order, uris, flac_data_uri(reference, sample_rate)))
        data.append(
            {
                "clip": trial.clip,
                "conditions": [{"id": chr(ord("A") + i), "name": name} for i, name in enumerate(order)],
            }
        )
    payload = json.dumps(data).replace("</", "<\\/")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{_STYLE}</style></head>
<body><h1>{html.escape(title)}</h1>
<p>For each trial, listen to the reference, then to every condition A, B, ... and rate how close it
sounds to the reference, from 0 (bad) to 100 (excellent, indistinguishable). One condition is the
reference itself: rate it 100. Use headphones. When done, download the ratings.</p>
{"".join(sections)}
<p><button id="download" type="button">Download ratings (CSV)</button></p>
<script type="application/json" id="trials">{payload}</script>
<script>{_SCRIPT}</script>
</body></html>
"""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
