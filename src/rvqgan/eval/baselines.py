"""Baseline codecs through their real encoders: Opus (libopus) and MP3 (LAME), via ffmpeg.

Each clip is resampled (soxr, VHQ) to the rate the encoder runs at, written as a 32-bit
float WAV, encoded by ``ffmpeg`` into its usual container, decoded back by ``ffmpeg``,
resampled to the clip's rate and aligned to the input by cross-correlation (Opus decodes
at 48 kHz with its pre-skip removed; LAME adds an encoder delay of ~1,152 samples that
decoders do not always remove). The bytes counted are described in ``containers.py``.

* Opus: ``-c:a libopus -b:a <k>k -vbr off -application audio`` (hard CBR, 20 ms frames),
  48 kHz; decoded with libopus.
* MP3: ``-c:a libmp3lame -b:a <k>k`` (CBR). LAME codes 44.1 kHz only from 32 kbps up
  (MPEG-1 layer III); below that, MPEG-2/2.5 layer III runs at 8-24 kHz. The default
  rate for a bitrate below 32 kbps is the one the ``lame`` program itself picks (8 kbps ->
  8 kHz, 16 and 24 kbps -> 16 kHz); ``mp3:16@22050`` picks another.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

from rvqgan.errors import AudioError, ConfigError
from rvqgan.eval.codecs import Coded, CodingRun, EvalCodec, Setting, align
from rvqgan.eval.containers import mp3_payload_bytes, opus_payload_bytes
from rvqgan.eval.metrics import resample

OPUS_RATE = 48000
# The rate the `lame` CLI chooses for a CBR bitrate below 32 kbps (checked with lame 3.100).
_MP3_LOW_RATES = {8: 8000, 16: 16000, 24: 16000}
_MP3_V2_RATES = (8000, 11025, 12000, 16000, 22050, 24000)
_MP3_V2_KBPS = (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_MP3_V1_KBPS = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
# Longest delay searched when aligning decoded audio, in seconds (LAME's is ~26 ms).
MAX_DELAY_SECONDS = 0.1


def ffmpeg_path() -> str:
    """Path of ``ffmpeg``; raises :class:`AudioError` with the install command if absent."""
    path = shutil.which("ffmpeg")
    if path is None:
        raise AudioError("ffmpeg is needed for the Opus and MP3 baselines: install it (apt-get install ffmpeg)")
    return path


def _run(args: list[str]) -> None:
    result = subprocess.run([ffmpeg_path(), "-nostdin", "-v", "error", "-y", *args], capture_output=True, check=False)
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip().splitlines()
        raise AudioError(f"ffmpeg failed ({' '.join(args)}): {message[-1] if message else 'no message'}")


def _decode(path: Path, rate: int, decoder: list[str]) -> np.ndarray:
    raw = path.with_suffix(".f32")
    _run([*decoder, "-i", str(path), "-f", "f32le", "-ac", "1", "-ar", str(rate), str(raw)])
    return np.fromfile(raw, dtype="<f4").astype(np.float32)


class FfmpegCodec(EvalCodec):
    """A codec run by ``ffmpeg`` (subclasses give the arguments and the byte counter)."""

    suffix = ".bin"
    decoder_args: tuple[str, ...] = ()

    def encoder_args(self, setting: Setting) -> list[str]:
        raise NotImplementedError

    def payload_bytes(self, data: bytes) -> int:
        raise NotImplementedError

    def code(self, audio: np.ndarray, sample_rate: int, settings: Sequence[Setting]) -> CodingRun:
        audio = np.asarray(audio, np.float32)
        coded = []
        with tempfile.TemporaryDirectory(prefix="rvqgan-eval-") as tmp:
            for setting in settings:
                source = Path(tmp) / f"in_{setting.sample_rate}.wav"
                if not source.exists():
                    sf.write(
                        source, resample(audio, sample_rate, setting.sample_rate), setting.sample_rate, subtype="FLOAT"
                    )
                encoded = Path(tmp) / f"{setting.label}{self.suffix}"
                _run(["-i", str(source), *self.encoder_args(setting), str(encoded)])
                data = encoded.read_bytes()
                decoded = _decode(encoded, setting.sample_rate, list(self.decoder_args))
                back = resample(decoded, setting.sample_rate, sample_rate)
                aligned, lag = align(audio, back, int(MAX_DELAY_SECONDS * sample_rate))
                coded.append(Coded(setting, aligned, self.payload_bytes(data), len(data), delay=lag))
        return CodingRun(coded)


class OpusCodec(FfmpegCodec):
    """Opus (libopus) at fixed bitrates, hard CBR, ``application=audio``, 20 ms frames.

    Args:
        kbps: bitrates in kbps (libopus accepts 6..510).
    """

    name = "opus"
    suffix = ".opus"
    decoder_args = ("-c:a", "libopus")

    def __init__(self, kbps: Sequence[int] = (6, 8, 12, 24)) -> None:
        for k in kbps:
            if not 6 <= k <= 510:
                raise ConfigError(f"Opus bitrate {k} kbps is outside libopus's range 6..510")
        self.settings = tuple(Setting(f"{k}kbps", float(k), int(k), OPUS_RATE) for k in sorted(set(kbps)))

    def encoder_args(self, setting: Setting) -> list[str]:
        return ["-c:a", "libopus", "-b:a", f"{setting.value}k", "-vbr", "off", "-application", "audio"]

    def payload_bytes(self, data: bytes) -> int:
        return opus_payload_bytes(data)


def mp3_sample_rate(kbps: int, sample_rate: int | None = None) -> int:
    """The rate LAME runs at for a CBR bitrate (see the module docstring)."""
    if sample_rate is None:
        sample_rate = 44100 if kbps >= 32 else _MP3_LOW_RATES.get(kbps)
    if sample_rate == 44100 and kbps in _MP3_V1_KBPS:
        return sample_rate
    if sample_rate in _MP3_V2_RATES and kbps in _MP3_V2_KBPS:
        return sample_rate
    raise ConfigError(
        f"MP3 cannot code {kbps} kbps at {sample_rate} Hz: 44.1 kHz allows {_MP3_V1_KBPS} kbps; "
        f"{_MP3_V2_RATES} Hz allow {_MP3_V2_KBPS} kbps"
    )


class Mp3Codec(FfmpegCodec):
    """MP3 (LAME) at constant bitrates.

    Args:
        kbps: bitrates in kbps; an item may be a ``(kbps, sample_rate)`` pair to choose
            the rate LAME runs at (default: :func:`mp3_sample_rate`).
    """

    name = "mp3"
    suffix = ".mp3"

    def __init__(self, kbps: Sequence[int | tuple[int, int]] = (32,)) -> None:
        settings = []
        for item in kbps:
            k, rate = item if isinstance(item, tuple) else (item, None)
            chosen = mp3_sample_rate(int(k), rate)
            label = f"{k}kbps" if rate is None else f"{k}kbps@{chosen}"
            settings.append(Setting(label, float(k), int(k), chosen))
        self.settings = tuple(sorted(set(settings), key=lambda s: (s.value, s.sample_rate)))

    def encoder_args(self, setting: Setting) -> list[str]:
        return ["-c:a", "libmp3lame", "-b:a", f"{setting.value}k", "-ar", str(setting.sample_rate)]

    def payload_bytes(self, data: bytes) -> int:
        return mp3_payload_bytes(data)
