"""Building blocks: Snake, weight-normalized convolutions, residual units."""

from rvqgan.nn.conv import WNConv1d, WNConvTranspose1d, fold_weight_norm
from rvqgan.nn.residual import ResidualUnit
from rvqgan.nn.snake import Snake, make_activation

__all__ = [
    "ResidualUnit",
    "Snake",
    "WNConv1d",
    "WNConvTranspose1d",
    "fold_weight_norm",
    "make_activation",
]
