"""Sample-rate conversion with soxr, whole arrays or streamed, with exact output lengths.

The length rule: ``T`` samples at ``sr_in`` become exactly

    resampled_length(T, sr_in, sr_out) = floor(T * sr_out / sr_in + 1/2)

samples at ``sr_out`` (round half up, computed in integers). soxr's own total is within
one sample of it and rounds halves inconsistently, so the result is trimmed, or padded
with at most a sample or two of zeros, to the rule. A caller that knows the length it
wants (the original length stored in a bitstream header, when resampling decoded audio
back to the file's rate) passes ``length=`` and gets exactly that many samples: going
there and back rounds twice and may land up to ``ceil(sr_out / sr_in)`` samples off.
"""

from __future__ import annotations

import numpy as np
import soxr

from rvqgan.errors import AudioError

QUALITIES = ("HQ", "VHQ")
# Output samples held back while the total is unknown, so that the end can still be trimmed
# to the rule; soxr's running total never runs more than one sample past it.
_HOLD = 4


def resampled_length(length: int, sr_in: int, sr_out: int) -> int:
    """``floor(length * sr_out / sr_in + 1/2)``, exactly, in integers."""
    return (2 * length * sr_out + sr_in) // (2 * sr_in)


def _check_rates(sr_in: int, sr_out: int, quality: str) -> None:
    for name, rate in (("input", sr_in), ("output", sr_out)):
        if not isinstance(rate, (int, np.integer)) or isinstance(rate, bool) or rate <= 0:
            raise AudioError(f"{name} sample rate must be a positive integer, got {rate!r}")
    if quality not in QUALITIES:
        raise AudioError(f"resampling quality must be one of {QUALITIES}, got {quality!r}")


def _fit(y: np.ndarray, n: int) -> np.ndarray:
    """Trim or zero-pad time-major ``y`` (T, C) to ``n`` rows."""
    if y.shape[0] >= n:
        return y[:n]
    return np.concatenate([y, np.zeros((n - y.shape[0], y.shape[1]), np.float32)])


def _as_channels_first(x: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2:
        raise AudioError(f"{what} must have shape [C, T], got {x.shape}")
    return x.astype(np.float32, copy=False)


def resample(x: np.ndarray, sr_in: int, sr_out: int, *, quality: str = "HQ", length: int | None = None) -> np.ndarray:
    """Resample a whole array.

    Args:
        x (ndarray): shape [C, T], float.
        sr_in, sr_out: rates in Hz.
        quality: soxr quality, ``"HQ"`` or ``"VHQ"``.
        length: output length; default ``resampled_length(T, sr_in, sr_out)``.

    Returns:
        ndarray: shape [C, length], float32.
    """
    _check_rates(sr_in, sr_out, quality)
    x = _as_channels_first(x, "audio")
    n = resampled_length(x.shape[1], sr_in, sr_out) if length is None else length
    if sr_in == sr_out or x.shape[1] == 0:
        y = x.T
    else:
        y = soxr.resample(np.ascontiguousarray(x.T), sr_in, sr_out, quality).reshape(-1, x.shape[0])
    return np.ascontiguousarray(_fit(y.astype(np.float32, copy=False), n).T)


class Resampler:
    """Streaming resampler with the exact-length rule; memory does not grow with the stream.

    Feed blocks with :meth:`process`, then call :meth:`flush` once; the concatenated
    outputs hold exactly ``length`` samples (or ``resampled_length`` of all input).

    Args:
        sr_in, sr_out: rates in Hz.
        channels: C.
        quality: soxr quality, ``"HQ"`` or ``"VHQ"``.
        length: total output samples wanted, when known in advance.
    """

    def __init__(
        self, sr_in: int, sr_out: int, channels: int, *, quality: str = "HQ", length: int | None = None
    ) -> None:
        _check_rates(sr_in, sr_out, quality)
        if channels < 1:
            raise AudioError(f"channels must be >= 1, got {channels}")
        if length is not None and length < 0:
            raise AudioError(f"length must be >= 0, got {length}")
        self.sr_in, self.sr_out, self.channels, self.length = sr_in, sr_out, channels, length
        self._stream = None if sr_in == sr_out else soxr.ResampleStream(sr_in, sr_out, channels, "float32", quality)
        self._held = np.zeros((0, channels), np.float32)
        self.samples_in = 0
        self.samples_out = 0
        self._done = False

    def _emit(self, y: np.ndarray, final: bool) -> np.ndarray:
        y = np.concatenate([self._held, y]) if len(self._held) else y
        if final:
            target = (
                self.length if self.length is not None else resampled_length(self.samples_in, self.sr_in, self.sr_out)
            )
            y, self._held = _fit(y, max(target - self.samples_out, 0)), self._held[:0]
        elif self.length is not None:
            # The total is known: never pass it, keep nothing back.
            y = y[: max(self.length - self.samples_out, 0)]
        else:
            cut = max(len(y) - _HOLD, 0)
            y, self._held = y[:cut], y[cut:]
        self.samples_out += len(y)
        return np.ascontiguousarray(y.T)

    def process(self, x: np.ndarray) -> np.ndarray:
        """Resample the next block: x [C, n] -> [C, m] float32 (m may be 0)."""
        if self._done:
            raise AudioError("Resampler.process called after flush; make a new Resampler")
        x = _as_channels_first(x, "audio block")
        if x.shape[0] != self.channels:
            raise AudioError(f"audio block has {x.shape[0]} channels, the resampler {self.channels}")
        self.samples_in += x.shape[1]
        if x.shape[1] == 0:
            return np.zeros((self.channels, 0), np.float32)
        y = x.T if self._stream is None else self._stream.resample_chunk(np.ascontiguousarray(x.T))
        return self._emit(y.reshape(-1, self.channels).astype(np.float32, copy=False), final=False)

    def flush(self) -> np.ndarray:
        """End of input: the last samples, [C, m]; afterwards the resampler is spent."""
        if self._done:
            raise AudioError("Resampler.flush called twice")
        self._done = True
        empty = np.zeros((0, self.channels), np.float32)
        y = empty if self._stream is None else self._stream.resample_chunk(empty, last=True)
        return self._emit(y.reshape(-1, self.channels).astype(np.float32, copy=False), final=True)
