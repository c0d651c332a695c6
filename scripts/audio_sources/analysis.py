"""Pure signal measurements used by the data builders: levels, bandwidth, excerpt choice.

Nothing here touches the disk or the network, so every function is unit-tested on
synthetic signals (``tests/scripts/test_analysis.py``).
"""

from __future__ import annotations

import numpy as np

#: A frame counts as active (not near-silent) when its RMS level is at least this (dBFS).
ACTIVE_FLOOR_DB = -50.0
#: Full-band means content up to at least this frequency (DATA.md).
FULL_BAND_HZ = 18000.0
#: ... at an original sample rate of at least this.
FULL_BAND_MIN_RATE = 44100
#: Bandwidth threshold: level of the smoothed long-term spectrum relative to its mean bin power.
BANDWIDTH_THRESHOLD_DB = -60.0


def frame_levels_db(audio: np.ndarray, sample_rate: int, frame_s: float = 0.1) -> np.ndarray:
    """RMS level of consecutive non-overlapping frames.

    Args:
        audio: mono samples, shape (T,), full scale 1.0.
        sample_rate: rate of ``audio`` in Hz.
        frame_s: frame length in seconds.

    Returns:
        Levels in dBFS, shape (T // frame,), floored at -200 dB for digital silence.
    """
    frame = max(1, round(frame_s * sample_rate))
    n = len(audio) // frame
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    x = np.asarray(audio[: n * frame], dtype=np.float64).reshape(n, frame)
    power = np.mean(x * x, axis=1)
    return 10.0 * np.log10(np.maximum(power, 1e-20))


def active_fraction(levels_db: np.ndarray, floor_db: float = ACTIVE_FLOOR_DB) -> float:
    """Share of frames whose level is at least ``floor_db`` (0.0 for an empty array)."""
    if len(levels_db) == 0:
        return 0.0
    return float(np.mean(levels_db >= floor_db))


def long_term_spectrum(audio: np.ndarray, n_fft: int = 2048, max_frames: int = 4000) -> np.ndarray | None:
    """Mean power spectrum over the active frames of a signal.

    Frames quieter than 50 dB below the loudest frame (or below -90 dBFS) are left out, so
    that silence does not pull the average towards the noise floor. Long signals are
    measured on at most ``max_frames`` evenly spaced frames, which keeps a 10-minute
    track to well under a second.

    Args:
        audio: mono samples, shape (T,).
        n_fft: frame length (Hann window, hop n_fft // 2).
        max_frames: cap on the number of analysed frames.

    Returns:
        Power per rfft bin, shape (n_fft // 2 + 1,), or None when there is no active frame.
    """
    hop = n_fft // 2
    n = (len(audio) - n_fft) // hop + 1
    if n < 1:
        return None
    starts = hop * np.arange(n)
    if n > max_frames:
        starts = starts[np.linspace(0, n - 1, max_frames).astype(np.int64)]
    frames = np.asarray(audio, dtype=np.float64)[starts[:, None] + np.arange(n_fft)[None, :]]
    rms_db = 10.0 * np.log10(np.maximum(np.mean(frames * frames, axis=1), 1e-20))
    active = rms_db >= max(rms_db.max() - 50.0, -90.0)
    if not np.any(active):
        return None
    spec = np.fft.rfft(frames[active] * np.hanning(n_fft), axis=1)
    return np.mean(np.abs(spec) ** 2, axis=0)


def measure_bandwidth(
    audio: np.ndarray,
    sample_rate: int,
    n_fft: int = 2048,
    threshold_db: float = BANDWIDTH_THRESHOLD_DB,
    smooth_bins: int = 9,
) -> float:
    """Effective audio bandwidth: the highest frequency that still carries content.

    Method: take the long-term power spectrum of the active frames (see
    :func:`long_term_spectrum`), smooth it over ``smooth_bins`` bins (~190 Hz at 44.1 kHz),
    express it in dB relative to the mean power per bin, and return the highest bin centre
    whose level is at least ``threshold_db`` (-60 dB). Lossy encoders (Vorbis, Opus, MP3)
    low-pass their input, leaving a cliff of 50-100 dB at the cut-off, so the measure lands
    on that cut-off; a natural high-frequency roll-off of real recordings stays above
    -60 dB well into the top octave. For white noise every bin is at 0 dB, so the result is
    the Nyquist frequency.

    Args:
        audio: mono samples, shape (T,).
        sample_rate: rate of ``audio`` in Hz.
        n_fft: analysis frame length.
        threshold_db: level (relative to the mean bin power) that counts as content.
        smooth_bins: moving-average width over frequency, in bins.

    Returns:
        Bandwidth in Hz (0.0 for silence or a signal shorter than one frame).
    """
    power = long_term_spectrum(audio, n_fft=n_fft)
    if power is None or power.mean() <= 0:
        return 0.0
    smooth = np.convolve(power, np.ones(smooth_bins) / smooth_bins, mode="same")
    level = 10.0 * np.log10(np.maximum(smooth / power.mean(), 1e-30))
    above = np.nonzero(level >= threshold_db)[0]
    if len(above) == 0:
        return 0.0
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    return float(freqs[above[-1]])


def is_full_band(bandwidth_hz: float, original_sample_rate: int, sample_rate: int = FULL_BAND_MIN_RATE) -> bool:
    """Whether an item counts as full-band at ``sample_rate``.

    At 44.1 kHz (the default): an original rate >= 44.1 kHz and content up to >= 18 kHz
    (DATA.md). At another rate the same proportions apply: an original rate at least that
    rate and content up to >= 18/22.05 of its Nyquist frequency.
    """
    needed = FULL_BAND_HZ * sample_rate / FULL_BAND_MIN_RATE
    return original_sample_rate >= sample_rate and bandwidth_hz >= needed


def valid_window_starts(levels_db: np.ndarray, window: int, min_active: float,
                        floor_db: float = ACTIVE_FLOOR_DB) -> np.ndarray:
    """Start frames of windows that are not near-silent.

    Args:
        levels_db: per-frame levels, shape (F,).
        window: window length in frames.
        min_active: least share of active frames (level >= ``floor_db``) a window needs.
        floor_db: activity floor in dBFS.

    Returns:
        Sorted start indices (int64), each with ``start + window <= F``.
    """
    n = len(levels_db) - window + 1
    if n < 1:
        return np.zeros(0, dtype=np.int64)
    active = (levels_db >= floor_db).astype(np.int64)
    csum = np.concatenate([[0], np.cumsum(active)])
    counts = csum[window:] - csum[:-window]
    return np.nonzero(counts >= min_active * window)[0].astype(np.int64)


def choose_excerpts(valid_starts: list[np.ndarray], window: int, count: int,
                    seed: int) -> list[tuple[int, int]]:
    """Pick up to ``count`` non-overlapping windows spread over several streams.

    Streams are visited round-robin in a seeded random order, so every stream gives one
    excerpt before any gives a second; within a stream the start is drawn at random among
    the valid starts that do not overlap an excerpt already taken. The result depends only
    on the inputs and ``seed``.

    Args:
        valid_starts: per stream, the valid start frames (see :func:`valid_window_starts`).
        window: window length in frames.
        count: how many excerpts to pick in total.
        seed: random seed.

    Returns:
        ``(stream_index, start_frame)`` pairs, sorted.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(valid_starts))
    taken: dict[int, list[int]] = {int(i): [] for i in order}
    chosen: list[tuple[int, int]] = []
    open_streams = [int(i) for i in order if len(valid_starts[i]) > 0]
    while len(chosen) < count and open_streams:
        still_open = []
        for i in open_streams:
            if len(chosen) >= count:
                still_open.append(i)
                continue
            starts = valid_starts[i]
            ok = np.ones(len(starts), dtype=bool)
            for s in taken[i]:
                ok &= np.abs(starts - s) >= window
            if not np.any(ok):
                continue
            start = int(rng.choice(starts[ok]))
            taken[i].append(start)
            chosen.append((i, start))
            still_open.append(i)
        open_streams = still_open
    return sorted(chosen)


def fade_edges(audio: np.ndarray, sample_rate: int, fade_s: float = 0.005) -> np.ndarray:
    """A copy with raised-cosine fades at both ends, so that concatenated clips meet without a click.

    Args:
        audio: mono samples, shape (T,).
        sample_rate: rate in Hz.
        fade_s: fade length in seconds (shortened for clips under twice that).

    Returns:
        Faded samples, shape (T,), same dtype.
    """
    n = min(round(fade_s * sample_rate), len(audio) // 2)
    out = np.array(audio, copy=True)
    if n > 0:
        ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)).astype(out.dtype)
        out[:n] *= ramp
        out[-n:] *= ramp[::-1]
    return out


def trim_edges(audio: np.ndarray, sample_rate: int, keep_s: float = 0.15,
               floor_db: float = ACTIVE_FLOOR_DB) -> tuple[int, int]:
    """Span of a short clip without its leading and trailing near-silence.

    Used before concatenating one-second game voice lines into a 10-second excerpt, so the
    excerpt is mostly speech rather than the padding around each line.

    Args:
        audio: mono samples, shape (T,).
        sample_rate: rate in Hz.
        keep_s: silence kept on each side of the active part, in seconds.
        floor_db: activity floor in dBFS (10 ms frames).

    Returns:
        ``(start, stop)`` sample indices; ``(0, 0)`` when nothing is active.
    """
    frame = max(1, sample_rate // 100)
    levels = frame_levels_db(audio, sample_rate, frame_s=frame / sample_rate)
    active = np.nonzero(levels >= floor_db)[0]
    if len(active) == 0:
        return 0, 0
    keep = round(keep_s * sample_rate)
    start = max(0, int(active[0]) * frame - keep)
    stop = min(len(audio), (int(active[-1]) + 1) * frame + keep)
    return start, stop
