"""Objective metrics of a decoded clip against its reference, with the paper's definitions.

* ``mel``: the multi-scale mel distance, i.e. the training loss :class:`rvqgan.losses.MelLoss`
  (L1 between log10 mel spectrograms, windows 32..2048, 5..320 mel bins); lower is better.
* ``stft``: the STFT distance, :class:`rvqgan.losses.STFTLoss` (log and linear magnitude,
  windows 2048 and 512); lower is better.
* ``sisdr``: scale-invariant SDR in dB (zero-mean signals, optimal scaling of the
  reference); higher is better.
* ``visqol``: ViSQOL MOS-LQO in audio mode at 48 kHz (optional: ``visqol-python``).
* speech clips only: ``pesq`` (wide-band PESQ at 16 kHz, ``pesq``), ``stoi`` (``pystoi``
  at 16 kHz) and ``visqol_speech`` (ViSQOL speech mode at 16 kHz with the lattice mapper).

Every optional tool is imported when first needed; a missing one gives ``NaN`` for its
metric and a line in :attr:`MetricSuite.notes` instead of an error.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import soxr
import torch

from rvqgan.errors import AudioError

METRICS = ("mel", "stft", "sisdr", "visqol", "pesq", "stoi", "visqol_speech")
# Direction of each metric, for reports and plots: True when higher is better.
HIGHER_IS_BETTER = {
    "mel": False,
    "stft": False,
    "sisdr": True,
    "visqol": True,
    "pesq": True,
    "stoi": True,
    "visqol_speech": True,
}
SPEECH_METRICS = ("pesq", "stoi", "visqol_speech")
_SPEECH_RATE = 16000
_VISQOL_AUDIO_RATE = 48000


def si_sdr(reference: np.ndarray, estimate: np.ndarray, eps: float = 1e-12) -> float:
    """Scale-invariant signal-to-distortion ratio in dB (Le Roux et al., 2019).

    Args:
        reference: shape (T,), the clean signal.
        estimate: shape (T,), the signal to score.

    Returns:
        ``10 log10(|a s|^2 / |a s - e|^2)`` with ``a = <e, s> / |s|^2`` on zero-mean signals;
        identical signals give a very large finite value (bounded by ``eps``).
    """
    s = np.asarray(reference, np.float64)
    e = np.asarray(estimate, np.float64)
    s = s - s.mean()
    e = e - e.mean()
    scale = float(np.dot(e, s)) / (float(np.dot(s, s)) + eps)
    target = scale * s
    residual = e - target
    return float(10 * np.log10((np.dot(target, target) + eps) / (np.dot(residual, residual) + eps)))


def resample(audio: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Resample a mono (T,) float array with soxr (VHQ); identity when the rates agree."""
    audio = np.asarray(audio, np.float32)
    if sr_in == sr_out:
        return audio
    return soxr.resample(audio, sr_in, sr_out, quality="VHQ").astype(np.float32)


class MetricSuite:
    """Computes every metric of a (reference, estimate) pair; holds the loss modules.

    Args:
        sample_rate: rate of the audio given to :meth:`__call__` (44.1 kHz for the paper).
        visqol: compute ViSQOL when ``visqol-python`` is installed.
        speech: compute PESQ / STOI / speech ViSQOL on clips whose domain is ``"speech"``.
    """

    def __init__(self, sample_rate: int = 44100, *, visqol: bool = True, speech: bool = True) -> None:
        self.sample_rate = sample_rate
        self.use_visqol = visqol
        self.use_speech = speech
        self.notes: list[str] = []
        self._losses: tuple[Any, Any] | None = None
        self._visqol: dict[str, Any] = {}
        self._missing: set[str] = set()

    # -- spectral distances --------------------------------------------------------------
    def _loss_modules(self) -> tuple[Any, Any]:
        if self._losses is None:
            from rvqgan.losses import MelLoss, STFTLoss  # lazily: training code, not inference

            self._losses = (MelLoss(self.sample_rate), STFTLoss())
        return self._losses

    def spectral(self, reference: np.ndarray, estimate: np.ndarray) -> dict[str, float]:
        """``mel`` and ``stft`` distances of two (T,) arrays."""
        mel_loss, stft_loss = self._loss_modules()
        x = torch.from_numpy(np.ascontiguousarray(estimate, np.float32)).view(1, 1, -1)
        y = torch.from_numpy(np.ascontiguousarray(reference, np.float32)).view(1, 1, -1)
        with torch.no_grad():
            return {"mel": float(mel_loss(x, y)), "stft": float(stft_loss(x, y))}

    # -- optional perceptual metrics -----------------------------------------------------
    def _note_missing(self, tool: str, install: str) -> None:
        if tool not in self._missing:
            self._missing.add(tool)
            self.notes.append(f"{tool} not installed: its metric is left empty (pip install {install})")

    def _visqol_api(self, mode: str) -> Any | None:
        if mode not in self._visqol:
            try:
                from visqol import VisqolApi
            except ImportError:
                self._note_missing("visqol-python", "'visqol-python[accel,lattice]'")
                self._visqol[mode] = None
                return None
            api = VisqolApi()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                api.create(mode=mode)
            for warning in caught:
                self.notes.append(f"ViSQOL {mode} mode: {warning.message}")
            self._visqol[mode] = api
        return self._visqol[mode]

    def visqol(self, reference: np.ndarray, estimate: np.ndarray, mode: str = "audio") -> float:
        """ViSQOL MOS-LQO: ``"audio"`` mode at 48 kHz, ``"speech"`` mode at 16 kHz."""
        api = self._visqol_api(mode)
        if api is None:
            return math.nan
        rate = _VISQOL_AUDIO_RATE if mode == "audio" else _SPEECH_RATE
        ref = resample(reference, self.sample_rate, rate).astype(np.float64)
        deg = resample(estimate, self.sample_rate, rate).astype(np.float64)
        return float(api.measure_from_arrays(ref, deg, sample_rate=rate).moslqo)

    def pesq(self, reference: np.ndarray, estimate: np.ndarray) -> float:
        """Wide-band PESQ (ITU-T P.862.2) at 16 kHz; NaN when PESQ finds no speech."""
        try:
            from pesq import PesqError, pesq
        except ImportError:
            self._note_missing("pesq", "pesq")
            return math.nan
        ref = resample(reference, self.sample_rate, _SPEECH_RATE)
        deg = resample(estimate, self.sample_rate, _SPEECH_RATE)
        try:
            return float(pesq(_SPEECH_RATE, ref, deg, "wb"))
        except PesqError as exc:
            self.notes.append(f"PESQ failed on a clip ({type(exc).__name__}); left empty")
            return math.nan

    def stoi(self, reference: np.ndarray, estimate: np.ndarray) -> float:
        """STOI (Taal et al.) of 16 kHz versions; pystoi resamples to 10 kHz itself."""
        try:
            from pystoi import stoi
        except ImportError:
            self._note_missing("pystoi", "pystoi")
            return math.nan
        ref = resample(reference, self.sample_rate, _SPEECH_RATE)
        deg = resample(estimate, self.sample_rate, _SPEECH_RATE)
        return float(stoi(ref, deg, _SPEECH_RATE, extended=False))

    # -- all at once ---------------------------------------------------------------------
    def __call__(self, reference: np.ndarray, estimate: np.ndarray, domain: str = "music") -> dict[str, float]:
        """Every metric of ``estimate`` against ``reference``.

        Args:
            reference: shape (T,), float, at ``sample_rate``.
            estimate: shape (T,), the decoded signal, aligned with ``reference``.
            domain: ``"speech"`` adds the speech metrics; other domains leave them NaN.

        Returns:
            one float per name of :data:`METRICS` (NaN where not computed).
        """
        reference = np.asarray(reference, np.float32)
        estimate = np.asarray(estimate, np.float32)
        if reference.ndim != 1 or reference.shape != estimate.shape:
            raise AudioError(
                f"reference and estimate must be mono arrays of one length, got {reference.shape} and "
                f"{estimate.shape}; align the decoded audio first"
            )
        if reference.size == 0 or not (np.isfinite(reference).all() and np.isfinite(estimate).all()):
            raise AudioError("cannot score empty audio or audio with NaN/Inf samples")
        out = dict.fromkeys(METRICS, math.nan)
        out.update(self.spectral(reference, estimate))
        out["sisdr"] = si_sdr(reference, estimate)
        if self.use_visqol:
            out["visqol"] = self.visqol(reference, estimate, "audio")
        if self.use_speech and domain == "speech":
            out["pesq"] = self.pesq(reference, estimate)
            out["stoi"] = self.stoi(reference, estimate)
            if self.use_visqol:
                out["visqol_speech"] = self.visqol(reference, estimate, "speech")
        return out
