"""The combined discriminator: every enabled sub-discriminator behind one call."""

from __future__ import annotations

import torch
from torch import nn

from rvqgan.discriminators.config import DiscriminatorConfig
from rvqgan.discriminators.melgan import ScaledWaveformDiscriminator
from rvqgan.discriminators.mpd import PeriodDiscriminator
from rvqgan.discriminators.mrd import BandSTFTDiscriminator
from rvqgan.discriminators.msstft import MSSTFTScaleDiscriminator
from rvqgan.errors import InputError

#: Per sub-discriminator: (logits, feature maps of every layer before the logits).
DiscriminatorOutput = list[tuple[torch.Tensor, list[torch.Tensor]]]


class Discriminator(nn.Module):
    """All enabled sub-discriminators, in a fixed order.

    Order (and so ``discriminators[i]`` and the parameter names): periods, MelGAN
    scales, multi-band STFT windows, MS-STFT windows. With the default config this is
    the official DAC ``Discriminator`` layout (5 periods then 3 STFT windows).

    Args:
        config: which sub-discriminators to build, and their sizes.

    Attributes:
        names: one label per sub-discriminator, e.g. ``"mpd_2"``, ``"mrd_2048"`` (for logs).
        min_length: the shortest input (samples) every sub-discriminator accepts.
    """

    def __init__(self, config: DiscriminatorConfig) -> None:
        super().__init__()
        self.config = config
        discs: list[nn.Module] = []
        self.names: list[str] = []
        for p in config.periods:
            discs.append(PeriodDiscriminator(p, config.mpd_channels))
            self.names.append(f"mpd_{p}")
        if config.use_melgan:
            for s in range(config.melgan_scales):
                discs.append(ScaledWaveformDiscriminator(s))
                self.names.append(f"melgan_{s}")
        for w in config.stft_windows:
            discs.append(BandSTFTDiscriminator(w, config.band_pairs, config.channels))
            self.names.append(f"mrd_{w}")
        if config.use_msstft:
            for w in config.msstft_windows:
                discs.append(MSSTFTScaleDiscriminator(w, config.channels))
                self.names.append(f"msstft_{w}")
        self.discriminators = nn.ModuleList(discs)
        self.min_length = self._min_length(config)

    @staticmethod
    def _min_length(config: DiscriminatorConfig) -> int:
        # Reflect padding needs the pad to be shorter than the signal: half a window for
        # the centred STFTs, a whole window for the uncentred MS-STFT, and 2**scales * 8
        # for MelGAN's padded first conv after pooling.
        needs = [max(config.periods, default=1) + 1]
        needs += [w // 2 + 1 for w in config.stft_windows]
        if config.use_msstft:
            needs += list(config.msstft_windows)
        if config.use_melgan:
            needs.append(8 * 2 ** (config.melgan_scales - 1))
        return max(needs)

    @staticmethod
    def preprocess(audio: torch.Tensor) -> torch.Tensor:
        """Remove each item's DC offset and peak-normalize it to 0.8 (official DAC).

        The discriminator then judges the shape of the waveform, not its level.
        """
        audio = audio - audio.mean(dim=-1, keepdim=True)
        return 0.8 * audio / (audio.abs().amax(dim=-1, keepdim=True) + 1e-9)

    def forward(self, audio: torch.Tensor) -> DiscriminatorOutput:
        """Run every sub-discriminator.

        Args:
            audio (Tensor): shape (B, 1, T), T >= ``min_length``.

        Returns:
            DiscriminatorOutput: per sub-discriminator (in ``names`` order) its logits
            and the list of its feature maps (every layer before the logits).
        """
        if audio.dim() != 3 or audio.shape[1] != 1:
            raise InputError(
                f"the discriminator expects audio of shape (B, 1, T), got {tuple(audio.shape)}; "
                "fold stereo channels into the batch"
            )
        if audio.shape[-1] < self.min_length:
            raise InputError(
                f"the discriminator needs at least {self.min_length} samples, got {audio.shape[-1]}; "
                "use longer excerpts"
            )
        if self.config.normalize_input:
            audio = self.preprocess(audio)
        return [disc(audio) for disc in self.discriminators]


def build_discriminator(config: DiscriminatorConfig) -> Discriminator:
    """Build the combined discriminator described by ``config`` (fresh random weights)."""
    return Discriminator(config)
