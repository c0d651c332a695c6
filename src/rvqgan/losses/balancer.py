"""EnCodec's gradient balancer: loss weights as shares of the gradient on the model output.

For losses l_i that depend on the model only through its output y, with
g_i = dl_i/dy, the balancer back-propagates

    G = sum_i  R * (w_i / sum_j w_j) * g_i / EMA(||g_i||)

instead of sum_i w_i g_i. The weights then say what fraction of the gradient each loss
contributes, whatever its natural scale (EnCodec: R = 1, EMA decay 0.999). The norm
is taken per batch item and averaged over the batch, as in the public EnCodec code,
and the EMA is bias-corrected (the first step uses the current norm exactly).
"""

from __future__ import annotations

import torch
import torch.distributed as dist

from rvqgan.errors import ConfigError


class GradientBalancer:
    """Combine several losses' gradients on one output tensor.

    Args:
        weights: loss name -> weight. Losses with weight 0 are skipped.
        ema_decay: decay of the moving average of each gradient norm.
        rescale_grads: if False, back-propagate the plain weighted sum ``sum_i w_i g_i``.
        total_norm: reference norm R of the combined gradient.
        epsilon: added to the averaged norms before dividing.
        per_batch_item: norms per batch item, averaged (EnCodec); else over the whole tensor.
    """

    def __init__(
        self,
        weights: dict[str, float],
        ema_decay: float = 0.999,
        rescale_grads: bool = True,
        total_norm: float = 1.0,
        epsilon: float = 1e-12,
        per_batch_item: bool = True,
    ) -> None:
        if any(w < 0 for w in weights.values()) or not any(w > 0 for w in weights.values()):
            raise ConfigError(f"balancer weights must be >= 0 with at least one > 0, got {weights}")
        if not 0.0 <= ema_decay < 1.0:
            raise ConfigError(f"balancer ema_decay must be in [0, 1), got {ema_decay}")
        self.weights = dict(weights)
        self.ema_decay = ema_decay
        self.rescale_grads = rescale_grads
        self.total_norm = total_norm
        self.epsilon = epsilon
        self.per_batch_item = per_batch_item
        # Bias-corrected EMA: average = _sums[k] / _counts[k].
        self._sums: dict[str, float] = {}
        self._counts: dict[str, float] = {}
        #: Scale applied to each loss's gradient at the last step (for logging).
        self.last_scales: dict[str, float] = {}

    def _norm(self, grad: torch.Tensor) -> torch.Tensor:
        if self.per_batch_item and grad.dim() > 1:
            return torch.linalg.vector_norm(grad, dim=tuple(range(1, grad.dim()))).mean()
        return torch.linalg.vector_norm(grad)

    def _update_average(self, norms: dict[str, float]) -> dict[str, float]:
        averages = {}
        for name, norm in norms.items():
            self._sums[name] = self.ema_decay * self._sums.get(name, 0.0) + norm
            self._counts[name] = self.ema_decay * self._counts.get(name, 0.0) + 1.0
            averages[name] = self._sums[name] / self._counts[name]
        return averages

    def backward(
        self, losses: dict[str, torch.Tensor], output: torch.Tensor, extra_loss: torch.Tensor | None = None
    ) -> dict[str, float]:
        """Back-propagate the balanced gradient of ``losses`` through ``output``.

        Args:
            losses: name -> scalar loss; every name must have a weight. Each must depend
                on the model only through ``output``.
            output: the model output the losses are computed from, e.g. audio (B, 1, T).
            extra_loss: a scalar back-propagated as is in the same backward pass, for
                losses that do not go through ``output`` (the VQ codebook and commitment
                losses); the graph is released after one pass, so pass them here.

        Returns:
            Per loss, the norm of its raw gradient on ``output`` at this step.
        """
        unknown = sorted(set(losses) - set(self.weights))
        if unknown:
            raise ConfigError(f"balancer has no weight for losses {unknown}; known: {sorted(self.weights)}")
        active = {k: v for k, v in losses.items() if self.weights[k] > 0}
        grads, norms = {}, {}
        for name, loss in active.items():
            (grad,) = torch.autograd.grad(loss, [output], retain_graph=True, allow_unused=True)
            grads[name] = torch.zeros_like(output) if grad is None else grad
            norms[name] = self._norm(grads[name])
        norms = self._all_reduce(norms)
        out_grad = torch.zeros_like(output)
        averages = self._update_average(norms) if self.rescale_grads else {}
        total_weight = sum(self.weights[k] for k in active)
        for name, grad in grads.items():
            if self.rescale_grads:
                scale = self.total_norm * self.weights[name] / total_weight / (averages[name] + self.epsilon)
            else:
                scale = self.weights[name]
            self.last_scales[name] = scale
            out_grad.add_(grad, alpha=scale)
        if extra_loss is None:
            torch.autograd.backward([output], [out_grad])
        else:
            torch.autograd.backward([output, extra_loss], [out_grad, torch.ones_like(extra_loss)])
        return norms

    @staticmethod
    def _all_reduce(norms: dict[str, torch.Tensor]) -> dict[str, float]:
        """Average the norms over data-parallel workers so every worker applies the same scales."""
        if not norms:
            return {}
        stacked = torch.stack(list(norms.values())).detach()
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(stacked, op=dist.ReduceOp.SUM)
            stacked = stacked / dist.get_world_size()
        return dict(zip(norms, stacked.tolist()))

    def state_dict(self) -> dict[str, dict[str, float]]:
        """The moving-average state, for checkpoints (plain floats: safe to store as JSON)."""
        return {"sums": dict(self._sums), "counts": dict(self._counts)}

    def load_state_dict(self, state: dict[str, dict[str, float]]) -> None:
        """Restore the state written by :meth:`state_dict`."""
        self._sums = {k: float(v) for k, v in state["sums"].items()}
        self._counts = {k: float(v) for k, v in state["counts"].items()}
