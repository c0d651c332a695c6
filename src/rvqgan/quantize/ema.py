"""EnCodec-style codebooks for comparison: EMA updates, k-means init, dead-code restart.

The paper's quantizer (factorized, L2-normalized, learned by the codebook loss) did
better than this one in its ablation; it is kept so that the comparison can be run.
:class:`EMAVectorQuantizer` keeps the factorized projections of
:class:`~rvqgan.quantize.vq.VectorQuantizer` but, like EnCodec's codebooks:

* looks up the nearest code by Euclidean distance (no L2 normalization);
* learns the codebook by exponential moving averages of the assigned vectors
  (Laplace-smoothed counts), not by gradient: the codebook loss is zero and the
  codebook is not a trainable parameter;
* initializes the codebook by k-means on the first training batch;
* replaces codes whose EMA count falls below a threshold by random vectors of the
  current batch (dead-code restart).

Under ``torch.distributed`` the batch statistics are summed over processes and the
random draws (k-means init, restarts) are taken from rank 0, so every replica keeps
the same codebook, the one a single process would compute on the global batch.

A model trained with it cannot be exported to the codec format, whose look-up is by
cosine similarity.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F

from rvqgan.quantize.vq import VectorQuantizer


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class EMAVectorQuantizer(VectorQuantizer):
    """One EMA codebook (EnCodec-style) behind the :class:`VectorQuantizer` interface.

    Args:
        input_dim: channels of the latent it quantizes.
        codebook_size: number of codes.
        codebook_dim: dimension of the look-up space.
        decay: EMA decay of the counts and sums (EnCodec: 0.99).
        kmeans_iters: k-means iterations of the initialization (0: keep random init).
        dead_code_threshold: codes with an EMA count below this are restarted (EnCodec: 2).
        epsilon: Laplace smoothing of the counts.
    """

    def __init__(
        self,
        input_dim: int,
        codebook_size: int,
        codebook_dim: int,
        decay: float = 0.99,
        kmeans_iters: int = 10,
        dead_code_threshold: float = 2.0,
        epsilon: float = 1e-5,
    ) -> None:
        super().__init__(input_dim, codebook_size, codebook_dim)
        self.codebook.weight.requires_grad_(False)
        self.decay = decay
        self.kmeans_iters = kmeans_iters
        self.dead_code_threshold = dead_code_threshold
        self.epsilon = epsilon
        self.register_buffer("initialized", torch.zeros((), dtype=torch.bool))
        self.register_buffer("cluster_size", torch.zeros(codebook_size))
        self.register_buffer("embed_sum", self.codebook.weight.detach().clone())

    def lookup(self, z_e: torch.Tensor) -> torch.Tensor:
        """Nearest code by Euclidean distance: z_e (B, d, T) -> codes (B, T), int64."""
        vectors = z_e.transpose(1, 2).float()
        codebook = self.codebook.weight.float()
        distance = vectors.pow(2).sum(-1, keepdim=True) - 2 * vectors @ codebook.t() + codebook.pow(2).sum(-1)
        return distance.argmin(dim=-1)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Quantize ``z`` (B, D, T); in training mode, update the codebook first.

        Returns:
            z_q (B, D, T) with straight-through gradient, codes (B, T), z_e (B, d, T),
            commitment loss (B,), codebook loss (B,) (zeros: the codebook is not learned by gradient).
        """
        z_e = self.project(z)
        if self.training:
            self._update(z_e.detach().transpose(1, 2).reshape(-1, self.codebook_dim).float())
        codes = self.lookup(z_e)
        z_q = self.embed(codes).to(z_e.dtype)
        commitment = F.mse_loss(z_e, z_q.detach(), reduction="none").mean(dim=(1, 2))
        z_q = z_e + (z_q - z_e).detach()
        return self.out_proj(z_q), codes, z_e, commitment, torch.zeros_like(commitment)

    @torch.no_grad()
    def _update(self, vectors: torch.Tensor) -> None:
        """One EMA step on ``vectors`` (N, d): init, restart dead codes, move the averages."""
        if not bool(self.initialized):
            self._kmeans_init(vectors)
        self._restart_dead_codes(vectors)
        onehot = F.one_hot(self.lookup(vectors.t()[None])[0], self.codebook_size).float()
        counts = onehot.sum(0)
        sums = onehot.t() @ vectors
        if _distributed():
            dist.all_reduce(counts)
            dist.all_reduce(sums)
        self.cluster_size.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.embed_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        total = self.cluster_size.sum()
        smoothed = (self.cluster_size + self.epsilon) / (total + self.codebook_size * self.epsilon) * total
        self.codebook.weight.copy_(self.embed_sum / smoothed[:, None])

    def _kmeans_init(self, vectors: torch.Tensor) -> None:
        centroids = _sample(vectors, self.codebook_size)
        counts = torch.zeros(self.codebook_size, device=vectors.device)
        for _ in range(self.kmeans_iters):
            assign = torch.cdist(vectors, centroids).argmin(dim=-1)
            counts = torch.bincount(assign, minlength=self.codebook_size).float()
            sums = torch.zeros_like(centroids).index_add_(0, assign, vectors)
            # An empty cluster keeps its centroid.
            centroids = torch.where(counts[:, None] > 0, sums / counts.clamp(min=1)[:, None], centroids)
        if _distributed():
            dist.broadcast(centroids, 0)
            dist.broadcast(counts, 0)
        self.codebook.weight.copy_(centroids)
        self.embed_sum.copy_(centroids * counts[:, None])
        self.cluster_size.copy_(counts)
        self.initialized.fill_(True)

    def _restart_dead_codes(self, vectors: torch.Tensor) -> None:
        dead = self.cluster_size < self.dead_code_threshold
        if _distributed():
            # Every replica holds the same counts, so the same codes are dead everywhere.
            replacement = _sample(vectors, self.codebook_size)
            dist.broadcast(replacement, 0)
        elif bool(dead.any()):
            replacement = _sample(vectors, self.codebook_size)
        else:
            return
        self.codebook.weight.copy_(torch.where(dead[:, None], replacement, self.codebook.weight))
        # A restarted code starts with a count at the threshold, so it is not restarted again at once.
        self.embed_sum.copy_(torch.where(dead[:, None], replacement * self.dead_code_threshold, self.embed_sum))
        self.cluster_size.copy_(torch.where(dead, torch.full_like(self.cluster_size, self.dead_code_threshold),
                                            self.cluster_size))


def _sample(vectors: torch.Tensor, count: int) -> torch.Tensor:
    """``count`` rows of ``vectors`` (N, d), without replacement when N allows."""
    n = vectors.shape[0]
    if n >= count:
        index = torch.randperm(n, device=vectors.device)[:count]
    else:
        index = torch.randint(0, n, (count,), device=vectors.device)
    return vectors[index].clone()
