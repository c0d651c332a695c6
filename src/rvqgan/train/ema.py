"""An exponential moving average of the generator's weights (often a better model to export)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class ModelEMA:
    """Keeps ``ema = decay * ema + (1 - decay) * weights`` after every step.

    Buffers (e.g. EMA codebook statistics) are copied, not averaged.

    Args:
        model: the generator (not DDP-wrapped).
        decay: e.g. 0.999.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.module = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the average towards ``model``'s current weights."""
        for ema, live in zip(self.module.parameters(), model.parameters()):
            ema.lerp_(live.detach(), 1.0 - self.decay)
        for ema, live in zip(self.module.buffers(), model.buffers()):
            ema.copy_(live)
