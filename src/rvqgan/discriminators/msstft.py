"""EnCodec's MS-STFT discriminator (one scale per module), an ablation option.

Unlike the multi-band discriminator there are no bands: one conv stack sees the
whole normalized complex spectrogram, with dilations along time to widen its view.
Details follow the public EnCodec / audiocraft code: kernels (3, 9) (the paper's
text says 3 x 8), leaky ReLU 0.2, STFT without centring, normalized by the window
energy.
"""

from __future__ import annotations

import torch
from torch import nn

from rvqgan.discriminators.layers import WNConv2d

LEAKY_SLOPE = 0.2


class MSSTFTScaleDiscriminator(nn.Module):
    """One scale of the MS-STFT discriminator.

    conv (3, 9) 2 -> C; three convs (3, 9), stride 2 along frequency, dilation 1, 2, 4
    along time; conv (3, 3); each followed by leaky ReLU; then ``conv_post`` (3, 3) -> 1.

    Args:
        window_length: STFT window (hann, hop window / 4).
        channels: conv width C (EnCodec: 32).
        dilations: time dilations of the strided convs.
    """

    def __init__(self, window_length: int, channels: int = 32, dilations: tuple[int, ...] = (1, 2, 4)) -> None:
        super().__init__()
        self.window_length = window_length
        self.hop_length = window_length // 4
        layers = [WNConv2d(2, channels, (3, 9), padding=(1, 4))]
        for d in dilations:
            layers.append(WNConv2d(channels, channels, (3, 9), stride=(1, 2), dilation=(d, 1), padding=(d, 4)))
        layers.append(WNConv2d(channels, channels, (3, 3), padding=(1, 1)))
        self.convs = nn.ModuleList(layers)
        self.activation = nn.LeakyReLU(LEAKY_SLOPE)
        self.conv_post = WNConv2d(channels, 1, (3, 3), padding=(1, 1))
        self.register_buffer("window", torch.hann_window(window_length), persistent=False)

    def spectrogram(self, x: torch.Tensor) -> torch.Tensor:
        """x (Tensor): shape (B, 1, T >= window) -> (B, 2, frames, W // 2 + 1), real and imaginary parts."""
        spec = torch.stft(
            x.float().reshape(-1, x.shape[-1]),
            self.window_length,
            self.hop_length,
            window=self.window.float(),
            center=False,
            return_complex=True,
        )
        # torchaudio's normalized=True: divide by the window's L2 norm.
        spec = spec / self.window.float().pow(2).sum().sqrt()
        return torch.view_as_real(spec).permute(0, 3, 2, 1).to(x.dtype)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """x (Tensor): shape (B, 1, T) -> (logits (B, 1, frames, F'), 5 feature maps)."""
        features = []
        h = self.spectrogram(x)
        for layer in self.convs:
            h = self.activation(layer(h))
            features.append(h)
        return self.conv_post(h), features
