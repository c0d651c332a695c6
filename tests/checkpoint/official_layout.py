"""An independent stand-in for the official DAC module tree, for checking the name mapping.

Written from the published architecture (nested ``nn.Sequential`` s, ``block`` / ``model``
attributes, ``torch.nn.utils.weight_norm`` giving ``weight_g`` / ``weight_v``), it shares
no code with rvqgan: if our official names or tensor layouts were wrong, loading our
``.pth`` into it with ``strict=True`` or comparing its outputs would fail.
"""

from __future__ import annotations

import math
import warnings

import torch
from torch import nn


def _wn(layer: nn.Module) -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # the old API is what the released files use
        return nn.utils.weight_norm(layer)


class _Snake(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(1, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + (self.alpha + 1e-9).reciprocal() * torch.sin(self.alpha * x).pow(2)


class _Seq(nn.Module):
    """A module whose only child is ``self.block``, as the official blocks are."""

    def __init__(self, *layers: nn.Module) -> None:
        super().__init__()
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class _Res(_Seq):
    def __init__(self, dim: int, dilation: int) -> None:
        pad = 3 * dilation
        super().__init__(
            _Snake(dim),
            _wn(nn.Conv1d(dim, dim, 7, dilation=dilation, padding=pad)),
            _Snake(dim),
            _wn(nn.Conv1d(dim, dim, 1)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ReferenceEncoder(_Seq):
    def __init__(self, dim: int, rates: list[int], latent: int) -> None:
        layers: list[nn.Module] = [_wn(nn.Conv1d(1, dim, 7, padding=3))]
        for s in rates:
            dim *= 2
            half = dim // 2
            down = _wn(nn.Conv1d(half, dim, 2 * s, stride=s, padding=math.ceil(s / 2)))
            layers.append(_Seq(_Res(half, 1), _Res(half, 3), _Res(half, 9), _Snake(half), down))
        layers += [_Snake(dim), _wn(nn.Conv1d(dim, latent, 3, padding=1))]
        super().__init__(*layers)


class ReferenceDecoder(nn.Module):
    def __init__(self, latent: int, dim: int, rates: list[int]) -> None:
        super().__init__()
        layers: list[nn.Module] = [_wn(nn.Conv1d(latent, dim, 7, padding=3))]
        for i, s in enumerate(rates):
            cin, cout = dim // 2**i, dim // 2 ** (i + 1)
            up = _wn(nn.ConvTranspose1d(cin, cout, 2 * s, stride=s, padding=math.ceil(s / 2)))
            layers.append(_Seq(_Snake(cin), up, _Res(cout, 1), _Res(cout, 3), _Res(cout, 9)))
        layers += [_Snake(cout), _wn(nn.Conv1d(cout, 1, 7, padding=3)), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model(z)


class _VQ(nn.Module):
    def __init__(self, latent: int, size: int, dim: int) -> None:
        super().__init__()
        self.in_proj = _wn(nn.Conv1d(latent, dim, 1))
        self.out_proj = _wn(nn.Conv1d(dim, latent, 1))
        self.codebook = nn.Embedding(size, dim)


class _RVQ(nn.Module):
    def __init__(self, latent: int, n: int, size: int, dim: int) -> None:
        super().__init__()
        self.quantizers = nn.ModuleList(_VQ(latent, size, dim) for _ in range(n))


class ReferenceDAC(nn.Module):
    """Built from official constructor kwargs (``latent_dim`` resolved)."""

    def __init__(self, kwargs: dict) -> None:
        super().__init__()
        latent = kwargs["latent_dim"]
        self.encoder = ReferenceEncoder(kwargs["encoder_dim"], kwargs["encoder_rates"], latent)
        self.quantizer = _RVQ(latent, kwargs["n_codebooks"], kwargs["codebook_size"], kwargs["codebook_dim"])
        self.decoder = ReferenceDecoder(latent, kwargs["decoder_dim"], kwargs["decoder_rates"])
