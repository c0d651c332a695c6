"""Discriminators: multi-period, multi-band complex STFT, and the MelGAN / MS-STFT options."""

from rvqgan.discriminators.combined import Discriminator, DiscriminatorOutput, build_discriminator
from rvqgan.discriminators.config import DiscriminatorConfig
from rvqgan.discriminators.melgan import ScaledWaveformDiscriminator, WaveformDiscriminator
from rvqgan.discriminators.mpd import PeriodDiscriminator
from rvqgan.discriminators.mrd import BandSTFTDiscriminator, stride_matched_stft
from rvqgan.discriminators.msstft import MSSTFTScaleDiscriminator

__all__ = [
    "BandSTFTDiscriminator",
    "Discriminator",
    "DiscriminatorConfig",
    "DiscriminatorOutput",
    "MSSTFTScaleDiscriminator",
    "PeriodDiscriminator",
    "ScaledWaveformDiscriminator",
    "WaveformDiscriminator",
    "build_discriminator",
    "stride_matched_stft",
]
