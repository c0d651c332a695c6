"""The gradient balancer: weights become shares of the gradient on the output."""

from __future__ import annotations

import pytest
import torch

from rvqgan.errors import ConfigError
from rvqgan.losses import GradientBalancer, LossWeights


def toy(seed: int = 0):
    """A linear model, an input batch and two losses whose gradients differ in scale by ~100x."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = torch.nn.Linear(8, 16)
    x = torch.randn(4, 8, generator=gen)
    target_a = torch.randn(4, 16, generator=gen)
    target_b = torch.randn(4, 16, generator=gen)
    out = model(x)
    losses = {"big": 100.0 * (out - target_a).pow(2).mean(), "small": (out - target_b).pow(2).mean()}
    return model, out, losses


def captured_backward(balancer: GradientBalancer, out: torch.Tensor, losses: dict) -> tuple[torch.Tensor, dict]:
    raw = {k: torch.autograd.grad(v, out, retain_graph=True)[0] for k, v in losses.items()}
    applied = {}

    def record(grad: torch.Tensor) -> None:
        # Keep only the gradient of the final backward (the balancer's own autograd.grad
        # calls fire the hook first).
        applied["grad"] = grad.clone()

    out.register_hook(record)
    balancer.backward(losses, out)
    return applied["grad"], raw


def per_item_norm(g: torch.Tensor) -> float:
    return g.norm(dim=1).mean().item()


def test_gradient_shares_follow_the_weights_despite_100x_scale():
    model, out, losses = toy()
    balancer = GradientBalancer({"big": 1.0, "small": 3.0})
    applied, raw = captured_backward(balancer, out, losses)
    ratio = per_item_norm(raw["big"]) / per_item_norm(raw["small"])
    assert 30 < ratio < 300  # the raw gradients really differ by ~100x
    # First step: the EMA is the current norm, so each part has norm exactly share * R.
    expected = 0.25 * raw["big"] / per_item_norm(raw["big"]) + 0.75 * raw["small"] / per_item_norm(raw["small"])
    torch.testing.assert_close(applied, expected)
    # The model received exactly the balanced gradient (dL/dW = G^T x for a linear layer).
    assert model.weight.grad is not None
    shares = {k: balancer.last_scales[k] * per_item_norm(raw[k]) for k in raw}
    total = sum(shares.values())
    assert shares["big"] / total == pytest.approx(0.25) and shares["small"] / total == pytest.approx(0.75)


def test_shares_hold_over_steps_with_the_moving_average():
    balancer = GradientBalancer({"big": 2.0, "small": 2.0}, ema_decay=0.9)
    for step in range(5):
        _, out, losses = toy(seed=step)
        _, raw = captured_backward(balancer, out, losses)
    shares = {k: balancer.last_scales[k] * per_item_norm(raw[k]) for k in raw}
    total = sum(shares.values())
    # Norms vary little between toy batches, so the EMA keeps shares near the weights.
    assert shares["big"] / total == pytest.approx(0.5, abs=0.05)
    # Returned norms are the raw per-loss gradient norms.
    _, out, losses = toy(seed=9)
    norms = balancer.backward(losses, out)
    assert set(norms) == {"big", "small"} and norms["big"] > 30 * norms["small"]


def test_without_rescaling_it_is_the_weighted_sum():
    _, out, losses = toy()
    balancer = GradientBalancer({"big": 1.0, "small": 3.0}, rescale_grads=False)
    applied, raw = captured_backward(balancer, out, losses)
    torch.testing.assert_close(applied, raw["big"] + 3.0 * raw["small"])


def test_extra_loss_is_backpropagated_in_the_same_pass():
    model, out, losses = toy()
    extra = model.bias.pow(2).sum()  # does not go through `out`
    GradientBalancer({"big": 1.0, "small": 1.0}).backward(losses, out, extra_loss=extra)
    bias_grad_with_extra = model.bias.grad.clone()
    model2, out2, losses2 = toy()
    GradientBalancer({"big": 1.0, "small": 1.0}).backward(losses2, out2)
    torch.testing.assert_close(bias_grad_with_extra - model2.bias.grad, 2 * model.bias.detach())


def test_state_round_trip_and_errors():
    balancer = GradientBalancer({"big": 1.0, "small": 1.0})
    _, out, losses = toy()
    balancer.backward(losses, out)
    fresh = GradientBalancer({"big": 1.0, "small": 1.0})
    fresh.load_state_dict(balancer.state_dict())
    assert fresh.state_dict() == balancer.state_dict()
    _, out, losses = toy()
    with pytest.raises(ConfigError, match="no weight"):
        GradientBalancer({"big": 1.0}).backward(losses, out)
    with pytest.raises(ConfigError):
        GradientBalancer({"a": 0.0})


def test_loss_weights_are_the_paper_defaults():
    w = LossWeights()
    assert (w.mel, w.adversarial, w.feature_matching, w.codebook, w.commitment, w.stft, w.waveform) == (
        15.0,
        1.0,
        2.0,
        1.0,
        0.25,
        0.0,
        0.0,
    )
    with pytest.raises(ConfigError):
        LossWeights(mel=-1.0)
