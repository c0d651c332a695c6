"""Snake (rvqgan.nn.snake): bitwise the reference expression forward, its exact gradients backward."""

from __future__ import annotations

import pytest
import torch

from rvqgan.nn.snake import Snake, snake, snake_reference


def _inputs(dtype: torch.dtype = torch.float32, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = 3 * torch.randn(2, 5, 400, generator=generator, dtype=dtype)
    alpha = 0.2 + 2 * torch.rand(1, 5, 1, generator=generator, dtype=dtype)  # trained alphas span about this
    return x, alpha


@pytest.mark.parametrize("x_grad,alpha_grad", [(False, False), (True, False), (False, True), (True, True)])
def test_forward_is_bitwise_the_reference(x_grad: bool, alpha_grad: bool) -> None:
    x, alpha = _inputs()
    x.requires_grad_(x_grad)
    alpha.requires_grad_(alpha_grad)
    assert torch.equal(snake(x, alpha), snake_reference(x, alpha))
    with torch.no_grad():
        assert torch.equal(snake(x, alpha), snake_reference(x, alpha))


def test_gradients_pass_gradcheck_in_float64() -> None:
    x, alpha = _inputs(torch.float64, seed=1)
    x = x[:, :, :60].clone().requires_grad_(True)
    alpha.requires_grad_(True)
    assert torch.autograd.gradcheck(snake, (x, alpha))
    assert torch.autograd.gradgradcheck(snake, (x, alpha))  # the backward is itself differentiable


def test_gradients_match_autograd_of_the_reference_in_float32() -> None:
    x, alpha = _inputs(seed=2)
    x.requires_grad_(True)
    alpha.requires_grad_(True)
    g = torch.randn(x.shape, generator=torch.Generator().manual_seed(3))
    got = torch.autograd.grad(snake(x, alpha), (x, alpha), g)
    want = torch.autograd.grad(snake_reference(x, alpha), (x, alpha), g)
    for a, e in zip(got, want):
        assert a.shape == e.shape
        assert torch.allclose(a, e, rtol=1e-4, atol=1e-5 * e.abs().max().item())


def test_a_frozen_alpha_gets_no_gradient_and_a_frozen_input_none_either() -> None:
    x, alpha = _inputs(seed=4)
    module = Snake(5)
    module.alpha.data.copy_(alpha)
    module.alpha.requires_grad_(False)
    x.requires_grad_(True)
    module(x).sum().backward()
    assert module.alpha.grad is None and x.grad is not None

    module.alpha.requires_grad_(True)
    x = x.detach()
    module(x).sum().backward()
    assert module.alpha.grad is not None and module.alpha.grad.shape == (1, 5, 1)


def test_the_input_is_left_untouched() -> None:
    x, alpha = _inputs(seed=5)
    before = x.clone()
    snake(x, alpha)
    x.requires_grad_(True)
    snake(x, alpha).sum().backward()
    assert torch.equal(x.detach(), before)
