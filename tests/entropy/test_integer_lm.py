"""The integer LM: batched and step-by-step tables are identical; close to the float model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rvqgan.entropy.export import export_lm
from rvqgan.entropy.integer_lm import IntegerLM
from rvqgan.entropy.probabilities import frequencies_from_logits, quantize_logits
from rvqgan.errors import CheckpointError
from tests.entropy.conftest import integer_lm, markov_codes, random_lm


def _step_by_step(lm: IntegerLM, codes: np.ndarray) -> np.ndarray:
    batch, n, frames = codes.shape
    decoder = lm.decoder(batch, n)
    out = np.zeros((batch, frames, n, lm.config.codebook_size), dtype=np.int64)
    for t in range(frames):
        decoder.start_frame()
        for k in range(n):
            out[:, t, k] = decoder.frequencies(k)
            decoder.push(k, codes[:, k, t])
    return out


@pytest.mark.parametrize(
    "changes",
    [{}, {"same_frame": False}, {"depth_dim": 16}, {"context_frames": 1}, {"heads": 2, "weight_bits": 12}],
)
def test_batched_and_step_by_step_tables_are_identical(changes):
    bits = changes.pop("weight_bits", 8) if "weight_bits" in changes else 8
    lm = integer_lm(0, bits, **changes)
    codes = markov_codes(np.random.default_rng(0), 2, 4, 60)  # longer than the 24-frame window
    batched = lm.frequencies(codes)
    np.testing.assert_array_equal(_step_by_step(lm, codes), batched)
    # Fewer codebooks, and one stream at a time, give the same integers too.
    np.testing.assert_array_equal(lm.frequencies(codes[1:, :2]), _step_by_step(lm, codes[1:, :2]))
    np.testing.assert_array_equal(lm.frequencies(codes[:1]), batched[:1])


def test_tables_of_a_prefix_are_the_prefix_of_the_tables():
    lm = integer_lm(1)
    codes = markov_codes(np.random.default_rng(1), 1, 4, 40)
    np.testing.assert_array_equal(lm.frequencies(codes[:, :, :17]), lm.frequencies(codes)[:, :17])


def test_the_integer_model_matches_the_float_model():
    model = random_lm(2)
    lm = IntegerLM(model.config, export_lm(model, 8))
    codes = markov_codes(np.random.default_rng(2), 2, 4, 50)
    with torch.no_grad():
        logits = model(torch.from_numpy(codes)).numpy().transpose(0, 2, 1, 3)  # [B, T, n, V]
    reference = frequencies_from_logits(quantize_logits(logits), lm.floor)
    ints = lm.frequencies(codes)
    symbols = codes.transpose(0, 2, 1)[..., None]

    def bits(freqs):
        return float(np.mean(24 - np.log2(np.take_along_axis(freqs, symbols, -1).astype(float))))

    # The same cost to 1% (measured: 0.03%), each probability within a few percent.
    assert abs(bits(ints) - bits(reference)) < 0.01 * bits(reference)
    assert np.abs(ints / 2**24 - reference / 2**24).max() < 0.05


def test_a_file_that_could_overflow_is_refused():
    model = random_lm(3)
    tensors = export_lm(model, 8)
    bad = dict(tensors)
    bad["heads.0.q"] = np.full_like(tensors["heads.0.q"], 127).astype(np.int64) * 2**25
    with pytest.raises(CheckpointError, match="heads.0"):
        IntegerLM(model.config, bad)
    missing = {k: v for k, v in tensors.items() if not k.startswith("blocks.1.")}
    with pytest.raises(CheckpointError, match="blocks.1"):
        IntegerLM(model.config, missing)


def test_the_float_model_learns_structured_codes():
    torch.manual_seed(0)
    model = random_lm(4).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(4)
    first = None
    for _ in range(40):
        loss = model.bits_per_code(torch.from_numpy(markov_codes(rng, 8, 4, 24)))
        first = float(loss.detach()) if first is None else first
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert float(loss.detach()) < first - 1.0  # well below where it started (6 bits is uniform)
