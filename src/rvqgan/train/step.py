"""One training iteration: a discriminator step, then a generator step (as the official DAC).

The discriminator judges the real batch and the detached fake batch in one call
(concatenated: every sub-discriminator works per item, so this changes nothing but
the number of calls, which matters under DistributedDataParallel). The generator
step then runs the *updated* discriminator, frozen (no parameter gradients: they
would be thrown away), on the real batch without a graph (feature-matching targets)
and on the fake batch with one.

During a discriminator warm-up (``schedule.discriminator_warmup`` after ``init_from``) the
generator only runs forward, without a graph, and the discriminator step is all there is.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch
from torch import nn

from rvqgan.config import to_dict
from rvqgan.discriminators import DiscriminatorOutput
from rvqgan.losses import discriminator_loss, feature_matching_loss, generator_adversarial_loss
from rvqgan.model import CodecOutput
from rvqgan.train.config import TrainConfig
from rvqgan.train.factory import ReconstructionLosses


def _float(output: DiscriminatorOutput) -> DiscriminatorOutput:
    """Losses are computed in float32 even when the discriminator ran in bf16."""
    return [(logits.float(), [f.float() for f in feats]) for logits, feats in output]


def _split(output: DiscriminatorOutput, size: int) -> tuple[DiscriminatorOutput, DiscriminatorOutput]:
    first = [(logits[:size], [f[:size] for f in feats]) for logits, feats in output]
    second = [(logits[size:], [f[size:] for f in feats]) for logits, feats in output]
    return first, second


class GanStep:
    """Runs iterations on given modules and optimizers; holds no training state itself.

    Args:
        config: the recipe (loss weights, GAN kind, clipping, precision).
        generator: the generator as called for training (possibly DDP-wrapped).
        discriminator: the discriminator as called for its own step (possibly DDP-wrapped).
        discriminator_module: the bare discriminator (used frozen in the generator step).
        optimizer_g, optimizer_d: their AdamW optimizers.
        device: where the batch lives (fixes the autocast device).
        balancer: optional ``GradientBalancer`` for the losses that reach the output.
    """

    def __init__(
        self,
        config: TrainConfig,
        generator: nn.Module,
        discriminator: nn.Module,
        discriminator_module: nn.Module,
        optimizer_g: torch.optim.Optimizer,
        optimizer_d: torch.optim.Optimizer,
        device: torch.device,
        balancer=None,
    ) -> None:
        self.config = config
        self.generator = generator
        self.discriminator = discriminator
        self.d_module = discriminator_module
        self.optimizer_g = optimizer_g
        self.optimizer_d = optimizer_d
        self.balancer = balancer
        self.weights = {k: float(v) for k, v in to_dict(config.loss.weights).items()}
        self.reconstruction = ReconstructionLosses(config.loss, config.model.sample_rate).to(device)
        use_bf16 = config.schedule.precision == "bf16"
        self.autocast: Callable[[], contextlib.AbstractContextManager] = (
            (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if use_bf16 else contextlib.nullcontext
        )

    def adversarial(self, step: int) -> bool:
        """Whether the discriminator and adversarial losses run at ``step``."""
        w = self.weights
        return step >= self.config.schedule.adversarial_start and (w["adversarial"] > 0 or w["feature_matching"] > 0)

    def frozen(self, step: int) -> bool:
        """Whether ``step`` belongs to the discriminator warm-up (the generator is not updated)."""
        return step < self.config.schedule.frozen_until

    def __call__(self, real: torch.Tensor, step: int,
                 observe: Callable[[CodecOutput], None] | None = None) -> dict[str, torch.Tensor]:
        """One iteration on ``real`` (B, 1, T). Returns detached scalars for the logs.

        ``observe``, if given, is called with the generator's output after both updates
        (the trainer's code restart looks at the codes and latents there); not during the
        discriminator warm-up, when the generator must stay exactly as loaded.
        """
        if self.frozen(step):
            with torch.no_grad(), self.autocast():
                fake = self.generator(real).audio.float()
            return self._discriminator_step(real, fake)
        logs: dict[str, torch.Tensor] = {}
        with self.autocast():
            out = self.generator(real)
        fake = out.audio.float()
        adversarial = self.adversarial(step)
        if adversarial:
            logs.update(self._discriminator_step(real, fake))
        losses = self.reconstruction(fake, real)
        if adversarial:
            losses.update(self._adversarial_losses(real, fake))
        losses["codebook"] = out.codebook_loss.float()
        losses["commitment"] = out.commitment_loss.float()
        logs.update(self._generator_step(losses, fake))
        if observe is not None:
            observe(out)
        return logs

    def _discriminator_step(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        with self.autocast():
            both = self.discriminator(torch.cat([real, fake.detach()]))
        d_real, d_fake = _split(_float(both), real.shape[0])
        loss = discriminator_loss(d_real, d_fake, self.config.loss.gan)
        self.optimizer_d.zero_grad(set_to_none=True)
        loss.backward()
        norm = nn.utils.clip_grad_norm_(self.d_module.parameters(), self.config.optim.grad_clip_d)
        self.optimizer_d.step()
        return {"loss/discriminator": loss.detach(), "grad_norm/discriminator": norm.detach()}

    def _adversarial_losses(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        self.d_module.requires_grad_(False)
        with torch.no_grad(), self.autocast():
            d_real = _float(self.d_module(real))
        with self.autocast():
            d_fake = _float(self.d_module(fake))
        return {
            "adversarial": generator_adversarial_loss(d_fake, self.config.loss.gan),
            "feature_matching": feature_matching_loss(d_real, d_fake, self.config.loss.relative_feature_matching),
        }

    def _generator_step(self, losses: dict[str, torch.Tensor], fake: torch.Tensor) -> dict[str, torch.Tensor]:
        self.optimizer_g.zero_grad(set_to_none=True)
        total = sum(self.weights[name] * value for name, value in losses.items())
        if self.balancer is None:
            total.backward()
        else:
            self._balanced_backward(losses, fake)
        self.d_module.requires_grad_(True)
        norm = nn.utils.clip_grad_norm_(self.generator.parameters(), self.config.optim.grad_clip_g)
        self.optimizer_g.step()
        logs = {f"loss/{name}": value.detach() for name, value in losses.items()}
        logs["loss/generator"] = total.detach()
        logs["grad_norm/generator"] = norm.detach()
        return logs

    def _balanced_backward(self, losses: dict[str, torch.Tensor], fake: torch.Tensor) -> None:
        """EnCodec's balancer for the terms that reach the audio; the VQ terms plainly, in the
        same backward pass (DDP allows one per forward)."""
        quantizer = self.weights["codebook"] * losses["codebook"] + self.weights["commitment"] * losses["commitment"]
        balanced = {k: v for k, v in losses.items() if k not in ("codebook", "commitment")}
        self.balancer.backward(balanced, fake, extra_loss=quantizer)
