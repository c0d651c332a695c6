"""The dilated convolution with the fast CPU backward (rvqgan.nn.dilated)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from rvqgan.nn.conv import WNConv1d
from rvqgan.nn.dilated import dilated_conv1d, uses_fast_backward
from rvqgan.nn.residual import conv_padding


@pytest.mark.parametrize("dilation,padding", [(3, 9), (9, 27), (3, 0), (2, 12), (9, 5)])
def test_gradients_match_autograd_in_float64(dilation: int, padding: int) -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 3, 90, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 3, 7, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *a: dilated_conv1d(*a, padding, dilation), (x, w, b))
    assert torch.autograd.gradcheck(lambda x, w: dilated_conv1d(x, w, None, padding, dilation), (x, w))


def test_forward_is_bitwise_conv1d_and_gradients_match_in_float32() -> None:
    torch.manual_seed(1)
    x = torch.randn(3, 12, 2000, requires_grad=True)
    w = torch.randn(12, 12, 7, requires_grad=True)
    b = torch.randn(12, requires_grad=True)
    ours = dilated_conv1d(x, w, b, 27, 9)
    reference = F.conv1d(x, w, b, 1, 27, 9)
    assert torch.equal(ours, reference)
    g = torch.randn_like(ours)
    got = torch.autograd.grad(ours, (x, w, b), g)
    want = torch.autograd.grad(reference, (x, w, b), g)
    for a, e in zip(got, want):
        assert torch.allclose(a, e, rtol=1e-4, atol=1e-4 * e.abs().max().item())


def test_only_the_needed_gradients_are_computed() -> None:
    x = torch.randn(1, 2, 50, requires_grad=True)
    w = torch.randn(2, 2, 7)  # frozen, as in the encoder's search
    y = dilated_conv1d(x, w, None, 9, 3)
    (gx,) = torch.autograd.grad(y.sum(), (x,))
    assert gx.shape == x.shape and w.grad is None


def test_padding_beyond_the_kernel_span_is_refused() -> None:
    with pytest.raises(ValueError, match="padding"):
        dilated_conv1d(torch.randn(1, 2, 50), torch.randn(2, 2, 7), None, 19, 3)


def test_when_it_applies() -> None:
    x, w = torch.randn(1, 2, 8, requires_grad=True), torch.randn(2, 2, 7)
    assert uses_fast_backward(x, w, stride=1, dilation=3, padding=9)
    assert uses_fast_backward(x, w, stride=1, dilation=3, padding=18)
    assert not uses_fast_backward(x, w, stride=1, dilation=3, padding=19)  # beyond the span: plain conv1d
    assert not uses_fast_backward(x, w, stride=1, dilation=1, padding=3)
    assert not uses_fast_backward(x, w, stride=2, dilation=3, padding=9)
    assert not uses_fast_backward(x.detach(), w, stride=1, dilation=3, padding=9)
    with torch.no_grad():
        assert not uses_fast_backward(x, w, stride=1, dilation=3, padding=9)


@pytest.mark.parametrize("causal", [False, True])
def test_weight_normed_layer_trains_as_before(causal: bool) -> None:
    """WNConv1d routes dilated convolutions here: same output, same gradients on g, v, bias."""
    torch.manual_seed(2)
    layer = WNConv1d(6, 6, 7, dilation=9, padding=conv_padding(7, 9, causal))
    x = torch.randn(2, 6, 400, requires_grad=True)
    y = layer(x)
    left, right = layer.padding
    weight = torch._weight_norm(layer.weight_v, layer.weight_g, 0)
    if causal:  # the layer's forward before this module: explicit padding when asymmetric
        reference = F.conv1d(F.pad(x, (left, right)), weight, layer.bias, 1, 0, 9)
    else:
        reference = F.conv1d(x, weight, layer.bias, 1, left, 9)
    assert torch.equal(y, reference)
    g = torch.randn_like(y)
    params = (x, layer.weight_v, layer.weight_g, layer.bias)
    got = torch.autograd.grad(y, params, g)
    want = torch.autograd.grad(reference, params, g)
    for a, e in zip(got, want):
        assert torch.allclose(a, e, rtol=1e-4, atol=1e-5 * e.abs().max().item())
