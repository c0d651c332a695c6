"""Training losses: spectral and waveform reconstruction, GAN and feature matching, the balancer."""

from rvqgan.losses.balancer import GradientBalancer
from rvqgan.losses.config import LossWeights
from rvqgan.losses.gan import GAN_KINDS, discriminator_loss, feature_matching_loss, generator_adversarial_loss
from rvqgan.losses.melscale import empty_filters, hz_to_mel, mel_filterbank, mel_to_hz
from rvqgan.losses.spectral import PAPER_MEL_BINS, PAPER_MEL_WINDOWS, MelLoss, STFTLoss
from rvqgan.losses.waveform import SISDRLoss, WaveformL1Loss, si_sdr

__all__ = [
    "GAN_KINDS",
    "PAPER_MEL_BINS",
    "PAPER_MEL_WINDOWS",
    "GradientBalancer",
    "LossWeights",
    "MelLoss",
    "SISDRLoss",
    "STFTLoss",
    "WaveformL1Loss",
    "discriminator_loss",
    "empty_filters",
    "feature_matching_loss",
    "generator_adversarial_loss",
    "hz_to_mel",
    "mel_filterbank",
    "mel_to_hz",
    "si_sdr",
]
