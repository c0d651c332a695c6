"""One interface over everything evaluated: rvqgan models and the baseline encoders.

An :class:`EvalCodec` codes a mono clip at each of its settings (bitrates) and returns
the decoded audio, aligned with the input and of its length, with the bytes it spent.
:class:`ModelCodec` wraps an :class:`rvqgan.model.Codec`: one setting per number of
codebooks, bytes measured by writing a real ``.rvq`` stream into memory.
"""

from __future__ import annotations

import io
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from rvqgan.audio.bandwidth import band_limit, measure_bandwidth
from rvqgan.errors import InputError
from rvqgan.eval.metrics import resample
from rvqgan.inference import encode_long, search_for
from rvqgan.inference.refine import Search


@dataclass(frozen=True)
class Setting:
    """One operating point of a codec.

    Attributes:
        label: short unique name within the codec, e.g. ``"6kbps"`` or ``"q3"``.
        nominal_kbps: the bitrate the codec is set to (or, for a model, codes x bits).
        value: the parameter that selects it (kbps for baselines, codebooks for a model).
        sample_rate: the rate the codec runs at for this setting, in Hz.
    """

    label: str
    nominal_kbps: float
    value: int
    sample_rate: int


@dataclass
class Coded:
    """A clip after one trip through a codec at one setting.

    Attributes:
        setting: the operating point.
        audio: decoded audio, shape (T,), at the input's rate and length, aligned.
        payload_bytes: coded audio bytes, container excluded (see ``containers.py``).
        file_bytes: bytes of the whole file as the encoder wrote it.
        delay: samples by which the decoded signal lagged the input before alignment.
    """

    setting: Setting
    audio: np.ndarray
    payload_bytes: int
    file_bytes: int
    delay: int = 0


@dataclass
class CodingRun:
    """Everything one clip produced in one codec: a :class:`Coded` per setting, and the
    codes (K, frames) for a model, to count codebook usage."""

    coded: list[Coded]
    codes: np.ndarray | None = None


class EvalCodec(ABC):
    """A codec under evaluation.

    Attributes:
        name: unique name in a report (``"opus"``, ``"mp3"``, ``"dac_44khz"``...).
        settings: the operating points, lowest bitrate first.
        codebook_size: entries per codebook for models (usage statistics), else ``None``.
    """

    name: str
    settings: tuple[Setting, ...]
    codebook_size: int | None = None

    @abstractmethod
    def code(self, audio: np.ndarray, sample_rate: int, settings: Sequence[Setting]) -> CodingRun:
        """Code a clip at each of ``settings``.

        Args:
            audio: shape (T,), float32 mono.
            sample_rate: its rate in Hz.
            settings: a subset of :attr:`settings`.
        """


def fit_length(audio: np.ndarray, length: int) -> np.ndarray:
    """Trim or zero-pad a (T,) array to ``length`` samples."""
    audio = np.asarray(audio, np.float32)
    if audio.shape[0] >= length:
        return audio[:length]
    return np.pad(audio, (0, length - audio.shape[0]))


def find_delay(reference: np.ndarray, estimate: np.ndarray, max_lag: int) -> int:
    """Lag in samples (``|lag| <= max_lag``) maximizing the cross-correlation of the two.

    A positive lag means ``estimate`` is late: ``estimate[t + lag]`` matches
    ``reference[t]``.
    """
    n = reference.shape[0] + estimate.shape[0]
    size = 1 << (n - 1).bit_length()
    spectrum = np.fft.rfft(estimate.astype(np.float64), size) * np.conj(np.fft.rfft(reference.astype(np.float64), size))
    corr = np.fft.irfft(spectrum, size)
    # corr[k] is sum_t est[t + k] ref[t]; negative lags wrap around to the end.
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    values = np.concatenate([corr[: max_lag + 1], corr[size - max_lag :]])
    return int(lags[int(np.argmax(values))])


def align(reference: np.ndarray, estimate: np.ndarray, max_lag: int) -> tuple[np.ndarray, int]:
    """Shift ``estimate`` by its cross-correlation delay and fit it to the reference length."""
    lag = find_delay(reference, estimate, max_lag)
    shifted = estimate[lag:] if lag >= 0 else np.concatenate([np.zeros(-lag, np.float32), estimate])
    return fit_length(shifted, reference.shape[0]), lag


class ModelCodec(EvalCodec):
    """An rvqgan model, evaluated at each number of codebooks.

    Args:
        model: the :class:`rvqgan.model.Codec` (put in eval mode here).
        name: name in reports (default ``model.name``).
        n_codebooks: codebook counts to evaluate (default every count 1..K).
        device: torch device to run on.
        band_limit: as ``rvqgan.compress`` does by default, measure the input's bandwidth,
            count it in the header's bytes and low-pass the decoded audio there
            (:mod:`rvqgan.audio.bandwidth`); ``False``: the decoder's output as it comes.
        refine: choose the codes of each setting by encoder refinement with this search,
            or with the search a quality preset picks for its number of codebooks
            (:class:`~rvqgan.inference.QualityPreset`, :class:`~rvqgan.inference.DefaultQuality`),
            as ``rvqgan.compress`` does (the same chunks, so the
            same codes; :func:`rvqgan.inference.encoder_search` builds either from
            compress's arguments); ``None``: the plain encode, whose codes for k
            codebooks are the first k of one encode.
    """

    def __init__(
        self, model, name: str | None = None, n_codebooks: Sequence[int] | None = None, device: str = "cpu",
        band_limit: bool = True,
        refine: Search = None,
    ) -> None:
        self.model = model.eval().to(device)
        self.device = device
        self.band_limit = band_limit
        self.refine = refine
        self.name = name or getattr(model, "name", None) or "model"
        counts = list(n_codebooks) if n_codebooks else list(range(1, model.n_codebooks + 1))
        for n in counts:
            if not 1 <= n <= model.n_codebooks:
                raise InputError(f"n_codebooks {n} is not in [1, {model.n_codebooks}] for model {self.name}")
        self.codebook_size = model.codebook_size
        self.settings = tuple(
            Setting(f"q{n}", model.bitrate(n) / 1000, n, model.sample_rate) for n in sorted(set(counts))
        )

    def _rvq_bytes(self, codes: np.ndarray, length: int, sample_rate: int, bandwidth: int | None) -> tuple[int, int]:
        """(payload, file) bytes of ``codes`` (K, frames) written as a real ``.rvq`` stream."""
        from rvqgan.bitstream import CHUNK_OVERHEAD, END_SIZE, RvqHeader, RvqWriter

        header = RvqHeader.from_codec(
            self.model,
            channels=1,
            original_sample_rate=sample_rate,
            original_length=length,
            n_codebooks=codes.shape[0],
            bandwidth_hz=bandwidth,
        )
        buffer = io.BytesIO()
        writer = RvqWriter(buffer, header)
        writer.write_chunk(codes[None])
        end = writer.close()
        file_bytes = len(buffer.getvalue())
        return file_bytes - writer.header_size - end.n_chunks * CHUNK_OVERHEAD - END_SIZE, file_bytes

    @torch.no_grad()
    def code(self, audio: np.ndarray, sample_rate: int, settings: Sequence[Setting]) -> CodingRun:
        model_rate = self.model.sample_rate
        x = resample(audio, sample_rate, model_rate)
        tensor = torch.from_numpy(np.ascontiguousarray(x)).view(1, 1, -1).to(self.device)
        # Plain: one encode serves every plain setting (codebook k does not depend on how many
        # follow). Refined: each setting makes its own search below.
        searches = [search_for(self.refine, s.value, self.model) for s in settings]
        plain = self.model.encode(tensor) if any(search is None for search in searches) or not settings else None
        codes = plain
        bandwidth = measure_bandwidth(x, model_rate) if self.band_limit else None
        coded = []
        for setting, search in zip(settings, searches):
            n = setting.value
            codes = plain
            if search is not None:  # a search for this number of codebooks, as compress makes it
                codes = encode_long(self.model, tensor[0], n_quantizers=n, device=self.device, refine=search)
                codes = codes.to(self.device)
            decoded = self.model.decode(codes[:, :n])[0].float().cpu()
            decoded = band_limit(decoded[:, : x.shape[0]], model_rate, bandwidth)[0].numpy()
            decoded = fit_length(decoded, x.shape[0])
            back = fit_length(resample(decoded, model_rate, sample_rate), audio.shape[0])
            payload, file_bytes = self._rvq_bytes(codes[0, :n].cpu().numpy(), audio.shape[0], sample_rate, bandwidth)
            coded.append(Coded(setting, back, payload, file_bytes, delay=0))
        return CodingRun(coded, codes[0].cpu().numpy())
