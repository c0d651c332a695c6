"""Dead-code restart for the paper's factorized codebooks (a training option, off by default).

Small batches leave most of a 1,024-code book unused: the codes that lost the first
competitions are never chosen again, get no gradient, and the bitrate they stand for
is wasted (the validation's ``usage/efficiency``). The official recipe relies on a
batch of 72 x 0.38 s to avoid this; a CPU recipe with 6 x 0.2 s cannot.

:class:`CodeRestarter` remembers the last step each code was chosen. Every
``check_every`` steps, a code unused for ``restart_after`` steps gets the projected
latent ``z_e`` of a random frame of the current batch (one that this codebook
quantized) as its new vector, and its AdamW moments are zeroed, so it starts
competing where the data is. Codes are not touched otherwise; with
``restart_after = 0`` nothing happens and the recipe is the paper's.

Everything random comes from torch's generator, which the trainer reseeds from
(seed, step, rank) before each step, and the last-use table is checkpointed: a
resumed run restarts the same codes as one that never stopped. Under DDP the
last-use tables are merged (max) and rank 0's new vectors are broadcast, so every
replica keeps identical codebooks.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn

from rvqgan.quantize.rvq import ResidualVectorQuantizer


class CodeRestarter:
    """Restarts codes of ``quantizer`` that have not been chosen for a while.

    Args:
        quantizer: the generator's residual quantizer (factorized codebooks).
        restart_after: steps a code may go unchosen before it is restarted (> 0).
        check_every: how often (in steps) to look for unused codes.
        optimizer: the generator's optimizer; its moments of restarted rows are zeroed.
        distributed: merge usage and broadcast new vectors across processes.
    """

    def __init__(self, quantizer: ResidualVectorQuantizer, restart_after: int, check_every: int,
                 optimizer: torch.optim.Optimizer | None = None, distributed: bool = False) -> None:
        if restart_after <= 0 or check_every <= 0:
            raise ValueError("restart_after and check_every must be > 0")
        self.quantizer = quantizer
        self.restart_after = restart_after
        self.check_every = check_every
        self.optimizer = optimizer
        self.distributed = distributed
        self.last_used = torch.zeros(quantizer.n_codebooks, quantizer.codebook_size, dtype=torch.long)
        self.restarted_total = 0

    # -- checkpoint ----------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"last_used": self.last_used.tolist(), "restarted_total": self.restarted_total}

    def load_state_dict(self, state: dict) -> None:
        table = torch.tensor(state["last_used"], dtype=torch.long)
        if table.shape != self.last_used.shape:
            raise ValueError(f"code-restart table has shape {tuple(table.shape)}, expected {tuple(self.last_used.shape)}")
        self.last_used = table
        self.restarted_total = int(state.get("restarted_total", 0))

    # -- the step ------------------------------------------------------------------------
    def hold(self, step: int) -> None:
        """A step where the codes are not watched (the generator is frozen): every code counts
        as used at ``step``, so that none looks dead when watching starts again."""
        self.last_used.fill_(step)

    @torch.no_grad()
    def observe(self, codes: torch.Tensor, latents: torch.Tensor, n_quantizers: torch.Tensor,
                step: int) -> dict[str, torch.Tensor]:
        """Record the codes chosen at ``step`` (after the optimizer step) and restart dead ones.

        Args:
            codes: (B, K, T) codes of the training forward pass.
            latents: (B, K * d, T) projected latents ``z_e`` of each codebook.
            n_quantizers: (B,) codebooks each item used (quantizer dropout).
            step: the step just taken (1-based: the trainer's counter after it).

        Returns:
            ``{"quantizer/restarted": n}`` on the steps where unused codes were looked for.
        """
        rvq = self.quantizer
        d = rvq.codebook_dim
        codes, n_quantizers = codes.cpu(), n_quantizers.cpu()
        for k in range(rvq.n_codebooks):
            chosen = codes[n_quantizers > k, k].reshape(-1)
            if chosen.numel():
                self.last_used[k, chosen.unique()] = step
        if step % self.check_every:
            return {}
        if self.distributed:
            dist.all_reduce(self.last_used, op=dist.ReduceOp.MAX)
        latents = latents.detach().float().cpu()  # only on the steps that restart
        restarted = 0
        for k, vq in enumerate(rvq.quantizers):
            dead = (step - self.last_used[k] >= self.restart_after).nonzero().flatten()
            # The frames this codebook quantized: (frames, d).
            sample = latents[n_quantizers > k, k * d:(k + 1) * d].transpose(1, 2).reshape(-1, d)
            if dead.numel() and sample.shape[0]:
                picks = torch.randint(0, sample.shape[0], (dead.numel(),))
                weight = vq.codebook.weight
                weight[dead.to(weight.device)] = sample[picks].to(weight.device, weight.dtype)
                self._zero_moments(weight, dead.to(weight.device))
                self.last_used[k, dead] = step
                restarted += dead.numel()
            if self.distributed:
                dist.broadcast(vq.codebook.weight.data, src=0)
        self.restarted_total += restarted
        return {"quantizer/restarted": torch.tensor(float(restarted))}

    def _zero_moments(self, weight: nn.Parameter, rows: torch.Tensor) -> None:
        if self.optimizer is None:
            return
        state = self.optimizer.state.get(weight, {})
        for name in ("exp_avg", "exp_avg_sq"):
            if name in state:
                state[name][rows] = 0
