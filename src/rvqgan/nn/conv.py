"""Weight-normalized 1-D convolutions that keep the official parameter names.

Each layer stores ``weight_g`` (the norm, shape (C_0, 1, 1)) and ``weight_v`` (the
direction) exactly as ``torch.nn.utils.weight_norm(dim=0)`` does in the official DAC, so
official checkpoints map onto these modules tensor for tensor. For inference the
normalization can be folded into a plain ``weight`` once (:func:`fold_weight_norm`),
which removes a norm and a division from every forward pass.

Padding is given explicitly as ``(left, right)``: the paper's layout pads both sides
equally, a causal layout pads only on the left.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rvqgan.nn.dilated import dilated_conv1d, uses_fast_backward


class WeightNormed(nn.Module):
    """A convolution weight held as ``g * v / ||v||`` (norm over every axis but dim 0).

    The base of every weight-normed layer, 1-D here and 2-D in the discriminators: it
    stores the official ``weight_g`` / ``weight_v`` parameters. Only the 1-D layers of
    the generator can be folded (:class:`_WeightNorm`).
    """

    folded = False

    def _init_weight(self, shape: tuple[int, ...]) -> None:
        weight = torch.empty(shape)
        # Same initialisation as torch's convolutions (kaiming uniform, a=sqrt(5)).
        nn.init.kaiming_uniform_(weight, a=5**0.5)
        self.weight_v = nn.Parameter(weight)
        self.weight_g = nn.Parameter(_norm_except_dim0(weight))
        self.folded = False

    def effective_weight(self) -> torch.Tensor:
        """The effective weight ``g * v / ||v||`` (or the folded tensor)."""
        if self.folded:
            return self.weight
        return torch._weight_norm(self.weight_v, self.weight_g, 0)


class _WeightNorm(WeightNormed):
    """A 1-D weight-normed layer that can be folded into one plain tensor for inference."""

    def fold(self) -> None:
        """Replace (g, v) by the plain weight they define; irreversible on this module.

        The folded weight has the usual shape and values but is laid out in memory as
        its kernel taps, (K, C_in, C_out) contiguous (see :meth:`taps`), so that the
        tiled CPU path (:mod:`rvqgan.nn.tiled`) uses it without a copy. Saving,
        hashing and ``load_state_dict`` see an ordinary tensor.
        """
        if self.folded:
            return
        with torch.no_grad():
            weight = self._taps_view(self.effective_weight().detach()).contiguous()
        del self.weight_v
        del self.weight_g
        self.weight = nn.Parameter(self._from_taps(weight), requires_grad=False)
        self.folded = True

    def taps(self) -> torch.Tensor:
        """The effective weight as K matrices, shape (K, C_in, C_out), contiguous.

        Tap k maps input channels to output channels (``x @ taps[k]`` for time-major x).
        A view for a folded layer; otherwise computed on each call.
        """
        taps = self._taps_view(self.effective_weight().detach())
        return taps if taps.is_contiguous() else taps.contiguous()

    def _taps_view(self, weight: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _from_taps(self, taps: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def set_plain_weight(self, weight: torch.Tensor) -> None:
        """Set (g, v) so that the effective weight equals ``weight`` (g = ||w||, v = w)."""
        with torch.no_grad():
            if self.folded:
                self.weight.copy_(weight)
                return
            self.weight_v.copy_(weight)
            self.weight_g.copy_(_norm_except_dim0(weight))


def _norm_except_dim0(weight: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(weight, dim=tuple(range(1, weight.dim())), keepdim=True)


class WNConv1d(_WeightNorm):
    """Weight-normalized ``Conv1d`` with explicit (left, right) zero padding.

    Args:
        in_channels, out_channels, kernel_size, stride, dilation: as ``nn.Conv1d``.
        padding: ``(left, right)`` samples of zero padding.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        dilation: int = 1,
        padding: tuple[int, int] = (0, 0),
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.dilation = dilation
        self.padding = padding
        self._init_weight((out_channels, in_channels, kernel_size))
        fan_in = in_channels * kernel_size
        self.bias = nn.Parameter(torch.empty(out_channels).uniform_(-(fan_in**-0.5), fan_in**-0.5)) if bias else None

    def _taps_view(self, weight: torch.Tensor) -> torch.Tensor:
        return weight.permute(2, 1, 0)  # (C_out, C_in, K) -> (K, C_in, C_out)

    def _from_taps(self, taps: torch.Tensor) -> torch.Tensor:
        return taps.permute(2, 1, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (Tensor): shape (B, C_in, T) -> (B, C_out, T')."""
        left, right = self.padding
        weight = self.effective_weight()
        if left != right:
            x, left = F.pad(x, (left, right)), 0
        if uses_fast_backward(x, weight, self.stride, self.dilation, left):
            return dilated_conv1d(x, weight, self.bias, left, self.dilation)
        return F.conv1d(x, weight, self.bias, self.stride, left, self.dilation)


class WNConvTranspose1d(_WeightNorm):
    """Weight-normalized ``ConvTranspose1d``; ``trim`` samples are cut from (left, right).

    ``trim=(p, p)`` is ``nn.ConvTranspose1d(padding=p)``, the official layout.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        trim: tuple[int, int] = (0, 0),
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.trim = trim
        # torch's weight_norm(dim=0) on a transposed conv normalizes over the *input*
        # channel axis, which is dim 0 of its (C_in, C_out, K) weight: kept as is.
        self._init_weight((in_channels, out_channels, kernel_size))
        fan_in = out_channels * kernel_size
        self.bias = nn.Parameter(torch.empty(out_channels).uniform_(-(fan_in**-0.5), fan_in**-0.5)) if bias else None

    def _taps_view(self, weight: torch.Tensor) -> torch.Tensor:
        return weight.permute(2, 0, 1)  # (C_in, C_out, K) -> (K, C_in, C_out)

    def _from_taps(self, taps: torch.Tensor) -> torch.Tensor:
        return taps.permute(1, 2, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (Tensor): shape (B, C_in, T) -> (B, C_out, T * stride + K - stride - trims)."""
        left, right = self.trim
        if left == right:
            return F.conv_transpose1d(x, self.effective_weight(), self.bias, self.stride, left)
        y = F.conv_transpose1d(x, self.effective_weight(), self.bias, self.stride, 0)
        return y[..., left : y.shape[-1] - right]


def fold_weight_norm(module: nn.Module) -> nn.Module:
    """Fold weight normalization into plain weights in every layer of ``module``.

    Used once when a model is loaded for inference; returns the same module.
    """
    for layer in module.modules():
        if isinstance(layer, _WeightNorm):
            layer.fold()
    return module
