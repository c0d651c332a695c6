"""benchmarks/quantizer_stats.py: its per-codebook figures on a tiny model and the real clip."""

from __future__ import annotations

import math

import torch

from rvqgan.eval.testset import read_clip
from tests.conftest import REAL_CLIP, load_repo_script


def load_script():
    return load_repo_script("benchmarks/quantizer_stats.py")


def test_codebook_stats_bounds_and_first_residual(tiny_model):
    stats = load_script()
    rows = stats.codebook_stats(tiny_model, [REAL_CLIP], seconds=1.0)
    assert len(rows) == tiny_model.n_codebooks
    for row in rows:
        assert set(row) == set(stats.COLUMNS)
        assert all(math.isfinite(v) for v in row.values())
        assert -1.0 <= row["cos"] <= 1.0
        assert 0.0 <= row["scale"] <= 1.0 + 1e-6  # the best rescale never adds error
        assert 1.0 <= row["perplexity"] <= tiny_model.codebook_size + 1e-6
    audio = torch.from_numpy(read_clip(REAL_CLIP, tiny_model.sample_rate, 1.0)).reshape(1, 1, -1)
    with torch.no_grad():
        latent = tiny_model.encoder(tiny_model.pad_to_hop(audio))
    assert math.isclose(rows[0]["residual"], latent.pow(2).mean().item(), rel_tol=1e-4)
