"""The discriminator's configuration: which sub-discriminators run, and their sizes."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from rvqgan.errors import ConfigError


@dataclass(frozen=True)
class DiscriminatorConfig:
    """Everything that fixes the combined discriminator's architecture.

    The defaults are the paper's (and the official DAC code's): a multi-period
    discriminator with periods 2, 3, 5, 7, 11 and a multi-band complex STFT
    discriminator at windows 2048, 1024, 512. With these defaults the module and
    parameter names equal the official ``Discriminator``'s, so a discriminator trained
    with the official code loads tensor for tensor.

    Attributes:
        periods: periods of the multi-period (HiFi-GAN) discriminator; empty disables it.
        stft_windows: windows of the multi-band complex STFT discriminator ("MRD" in the
            official code); hop = window / 4; empty disables it.
        bands: band edges as fractions of the STFT bins (0 = DC, 1 = Nyquist).
        channels: width of the convolutions of the STFT discriminators (MRD and MS-STFT).
        use_melgan: add the MelGAN multi-scale waveform discriminator (ablation).
        melgan_scales: number of MelGAN scales (each one halves the rate by average pooling).
        use_msstft: add EnCodec's MS-STFT discriminator (windows 2048 ... 128).
        sample_rate: audio rate in Hz (recorded for checks; the architecture does not depend on it).
        mpd_channels: widths of the five strided convolutions of each period discriminator
            (official: 32, 128, 512, 1024, 1024); smaller values make tiny test models.
        msstft_windows: windows of the MS-STFT discriminator (EnCodec: 2048, 1024, 512, 256, 128).
        normalize_input: remove the DC offset and peak-normalize each item to 0.8 before
            discriminating, as the official DAC discriminator does.
    """

    periods: tuple[int, ...] = (2, 3, 5, 7, 11)
    stft_windows: tuple[int, ...] = (2048, 1024, 512)
    bands: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0)
    channels: int = 32
    use_melgan: bool = False
    melgan_scales: int = 3
    use_msstft: bool = False
    sample_rate: int = 44100
    mpd_channels: tuple[int, ...] = (32, 128, 512, 1024, 1024)
    msstft_windows: tuple[int, ...] = (2048, 1024, 512, 256, 128)
    normalize_input: bool = True

    def __post_init__(self) -> None:
        if any(p < 1 for p in self.periods):
            raise ConfigError(f"discriminator.periods must be positive integers, got {self.periods}")
        for name in ("stft_windows", "msstft_windows"):
            windows = getattr(self, name)
            if any(w < 16 or w % 4 for w in windows):
                raise ConfigError(
                    f"discriminator.{name} must be multiples of 4 and >= 16 (hop = window / 4), got {windows}"
                )
        _check_bands(self.bands, self.stft_windows)
        if self.channels < 1:
            raise ConfigError(f"discriminator.channels must be >= 1, got {self.channels}")
        if len(self.mpd_channels) != 5 or any(c < 1 for c in self.mpd_channels):
            raise ConfigError(f"discriminator.mpd_channels must be 5 positive widths, got {self.mpd_channels}")
        if self.melgan_scales < 1:
            raise ConfigError(f"discriminator.melgan_scales must be >= 1, got {self.melgan_scales}")
        if self.sample_rate <= 0:
            raise ConfigError(f"discriminator.sample_rate must be positive, got {self.sample_rate}")
        if not (self.periods or self.stft_windows or self.use_melgan or self.use_msstft):
            raise ConfigError(
                "the discriminator config enables no sub-discriminator: set periods, stft_windows, "
                "use_melgan or use_msstft"
            )

    @property
    def band_pairs(self) -> tuple[tuple[float, float], ...]:
        """The bands as (low, high) fraction pairs, in the official ``BANDS`` form."""
        return tuple(pairwise(self.bands))


def _check_bands(bands: tuple[float, ...], windows: tuple[int, ...]) -> None:
    if len(bands) < 2 or any(not 0.0 <= b <= 1.0 for b in bands):
        raise ConfigError(f"discriminator.bands must be >= 2 edges in [0, 1], got {bands}")
    if any(hi <= lo for lo, hi in pairwise(bands)):
        raise ConfigError(f"discriminator.bands must increase strictly, got {bands}")
    for window in windows:
        n_bins = window // 2 + 1
        edges = [int(b * n_bins) for b in bands]
        if any(hi <= lo for lo, hi in pairwise(edges)):
            raise ConfigError(
                f"discriminator.bands {bands} leave an empty band at window {window} "
                f"({n_bins} bins): use wider bands or a longer window"
            )
