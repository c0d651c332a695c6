"""The tiled time-major CPU kernels equal the modules they stand for, layer by layer."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rvqgan.nn import ResidualUnit, Snake, WNConv1d, WNConvTranspose1d, fold_weight_norm, tiled
from rvqgan.nn.residual import conv_padding
from rvqgan.nn.snake import snake
from tests.conftest import randomize


@pytest.fixture(autouse=True, params=["one thread", "several threads"])
def small_tiles(request, monkeypatch):
    """Tiles of a few rows, so that short signals cross many tile boundaries; both product modes."""
    monkeypatch.setattr(tiled, "TILE_ELEMENTS", 96)
    monkeypatch.setattr(tiled, "PARALLEL_TILE_ELEMENTS", 150)
    monkeypatch.setattr(tiled, "MIN_TILE_ROWS", 5)
    monkeypatch.setattr(tiled, "parallel", lambda: request.param == "several threads")


def _randomized(module: nn.Module, seed: int = 0) -> nn.Module:
    return randomize(module, seed, bias_scale=0.1).eval()


def _channel_major(module, x: torch.Tensor) -> torch.Tensor:
    """The module on time-major x (T, C), through its own channel-major forward."""
    with torch.no_grad():
        return module(x.t().unsqueeze(0))[0].t()


def _close(got: torch.Tensor, want: torch.Tensor, tol: float = 1e-5) -> None:
    assert got.shape == want.shape
    assert (got - want).abs().max() <= tol * max(1.0, float(want.abs().max()))


def test_snake_is_bitwise_identical() -> None:
    act = _randomized(Snake(6))
    x = 3 * torch.randn(37, 6)
    out = torch.empty_like(x)
    tiled.activate(act, x, out)
    assert torch.equal(out, snake(x.t().unsqueeze(0), act.alpha)[0].t())


def test_leaky_relu_is_bitwise_identical() -> None:
    x, out = torch.randn(11, 3), torch.empty(11, 3)
    tiled.activate(nn.LeakyReLU(0.1), x, out)
    assert torch.equal(out, nn.functional.leaky_relu(x, 0.1))


@pytest.mark.parametrize("fold", [True, False])
@pytest.mark.parametrize("act", [None, "snake", "relu"])
@pytest.mark.parametrize(
    ("kernel", "stride", "dilation", "causal"),
    [(7, 1, 1, False), (7, 1, 9, False), (7, 1, 3, True), (3, 1, 1, False), (1, 1, 1, False),
     (4, 2, 1, False), (16, 8, 1, False), (10, 5, 1, False), (8, 4, 1, True)],
)
def test_conv(kernel: int, stride: int, dilation: int, causal: bool, act: str | None, fold: bool) -> None:
    if stride > 1:  # the encoder's strided layout: ceil(s/2) a side, or s on the left
        padding = (stride, 0) if causal else ((stride + 1) // 2, (stride + 1) // 2)
    else:
        padding = conv_padding(kernel, dilation, causal)
    layer = _randomized(WNConv1d(3, 5, kernel, stride=stride, dilation=dilation, padding=padding))
    if fold:
        fold_weight_norm(layer)
    activation = {"snake": _randomized(Snake(3), 1), "relu": nn.LeakyReLU(0.1), None: None}[act]
    for length in (1, 2, 7, 40, 83):
        x = torch.randn(length * stride, 3)
        with torch.no_grad():
            got = tiled.conv(x, layer, act=activation)
        want = _channel_major(lambda y: layer(activation(y) if activation else y), x)
        _close(got, want)


@pytest.mark.parametrize("fold", [True, False])
@pytest.mark.parametrize(("stride", "causal"), [(2, False), (4, False), (5, False), (8, False), (2, True), (5, True)])
def test_conv_transpose(stride: int, causal: bool, fold: bool) -> None:
    trim = (0, stride) if causal else ((stride + 1) // 2, (stride + 1) // 2)
    layer = _randomized(WNConvTranspose1d(6, 3, 2 * stride, stride=stride, trim=trim))
    if fold:
        fold_weight_norm(layer)
    act = _randomized(Snake(6), 2)
    for length in (1, 2, 9, 31):
        x = torch.randn(length, 6)
        with torch.no_grad():
            got = tiled.conv_transpose(x, layer, act=act)
        _close(got, _channel_major(lambda y: layer(act(y)), x))


@pytest.mark.parametrize("activation", ["snake", "relu"])
@pytest.mark.parametrize(("dilation", "causal"), [(1, False), (3, False), (9, False), (9, True)])
def test_residual_unit(dilation: int, causal: bool, activation: str) -> None:
    unit = _randomized(ResidualUnit(4, dilation, activation, causal))
    for length in (1, 5, 30, 101):
        x = torch.randn(length, 4)
        with torch.no_grad():
            got = tiled.residual_unit(x, unit)
        _close(got, _channel_major(unit, x))


def test_residual_unit_writes_into_out() -> None:
    unit = fold_weight_norm(_randomized(ResidualUnit(4, 3)))
    x, out = torch.randn(50, 4), torch.full((50, 4), float("nan"))
    with torch.no_grad():
        returned = tiled.residual_unit(x, unit, out=out)
    assert returned is out
    _close(out, _channel_major(unit, x))


def test_fold_lays_weights_out_as_taps() -> None:
    """Folding keeps shapes and values; the taps are then a view, not a copy."""
    conv = _randomized(WNConv1d(3, 5, 7, dilation=3, padding=(9, 9)))
    up = _randomized(WNConvTranspose1d(6, 3, 8, stride=4, trim=(2, 2)))
    for layer, taps_of in ((conv, lambda w: w.permute(2, 1, 0)), (up, lambda w: w.permute(2, 0, 1))):
        before = layer.effective_weight().detach().clone()
        unfolded_taps = layer.taps()
        fold_weight_norm(layer)
        assert layer.weight.shape == before.shape and torch.equal(layer.weight, before)
        assert torch.equal(layer.taps(), taps_of(before)) and torch.equal(layer.taps(), unfolded_taps)
        assert layer.taps().data_ptr() == layer.weight.data_ptr()
        assert set(layer.state_dict()) == {"weight", "bias"}


def test_tiled_path_only_without_autograd() -> None:
    x = torch.randn(1, 3, 5)
    with torch.no_grad():
        assert tiled.applies(x)
        assert not tiled.applies(x.double())
    with torch.enable_grad():
        assert not tiled.applies(x)


def test_tile_rows_follow_the_constants(monkeypatch) -> None:
    monkeypatch.setattr(tiled, "parallel", lambda: False)
    assert tiled.tile_rows(4) == 24 and tiled.tile_rows(1000) == 5
    monkeypatch.setattr(tiled, "parallel", lambda: True)
    assert tiled.tile_rows(5) == 30
