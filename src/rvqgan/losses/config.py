"""Loss weights of the generator objective."""

from __future__ import annotations

from dataclasses import dataclass

from rvqgan.errors import ConfigError


@dataclass(frozen=True)
class LossWeights:
    """Weights of the generator's loss terms; the defaults are the paper's.

    Attributes:
        mel: multi-scale mel L1 (sum over the 7 scales).
        adversarial: generator adversarial loss (sum over sub-discriminators).
        feature_matching: L1 feature matching (sum over sub-discriminators and layers).
        codebook: VQ codebook loss.
        commitment: VQ commitment loss.
        stft: multi-resolution STFT loss (off in the paper).
        waveform: L1 on samples (off in the paper; EnCodec's time loss).
        sisdr: negative SI-SDR in dB (off in the paper): rewards a waveform in phase
            with the input, which the paper's losses constrain only indirectly.
    """

    mel: float = 15.0
    adversarial: float = 1.0
    feature_matching: float = 2.0
    codebook: float = 1.0
    commitment: float = 0.25
    stft: float = 0.0
    waveform: float = 0.0
    sisdr: float = 0.0

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if value < 0:
                raise ConfigError(f"loss weight {name} must be >= 0, got {value}")
