"""Balanced batches, determinism under a seed, rank sharding, silence redraws, loudness."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from rvqgan.data import (
    AudioCache,
    BalancedSampler,
    CachedFile,
    DataConfig,
    ExcerptDataset,
    SourceFile,
    holdout_paths,
    loudness,
    make_loader,
    validation_excerpts,
    write_cache,
)
from rvqgan.errors import ConfigError

RATE = 44100


def _files(spec: list[tuple[str, bool, float]]) -> list[CachedFile]:
    return [CachedFile(f"/f{i}.wav", d, fb, w, 0, 0, RATE, 1.0) for i, (d, fb, w) in enumerate(spec)]


def test_every_batch_is_balanced_and_holds_full_band_items():
    files = _files([("speech", False, 1)] * 3 + [("speech", True, 1)] + [("music", True, 1)] * 2
                   + [("music", False, 1)] * 4 + [("environmental", False, 1)] * 3)
    sampler = BalancedSampler(files, batch_size=12, full_band_fraction=0.25)
    assert sampler.domains == ("environmental", "music", "speech") and sampler.n_full_band == 3
    for step in range(50):
        rng = np.random.default_rng([7, step])
        drawn = [sampler.draw(rng, i) for i in range(12)]
        assert Counter(files[f].domain for f in drawn) == {"environmental": 4, "music": 4, "speech": 4}
        assert sum(files[f].full_band for f in drawn) >= 3
        # The full-band slots lie in the domains that have full-band files (not environmental).
        assert all(files[drawn[i]].full_band for i in sampler.full_band_slots)
        assert {files[drawn[i]].domain for i in sampler.full_band_slots} == {"music", "speech"}


def test_weights_set_the_draw_frequencies():
    files = _files([("music", False, 3.0), ("music", False, 1.0), ("music", False, 0.0)])
    sampler = BalancedSampler(files, batch_size=1, full_band_fraction=0.0)
    rng = np.random.default_rng(0)
    counts = Counter(sampler.draw(rng, 0) for _ in range(4000))
    assert counts[2] == 0 and 2.7 < counts[0] / counts[1] < 3.3


def test_sampler_errors_and_holdout():
    with pytest.raises(ConfigError, match="speech"):
        BalancedSampler(_files([("music", False, 1)]), 2, domains=("music", "speech"))
    files = _files([("music", False, 1)] * 3 + [("speech", False, 1)])
    held = holdout_paths(files, 2)
    assert sum(p in held for p in ("/f0.wav", "/f1.wav", "/f2.wav")) == 2
    assert "/f3.wav" not in held  # never every file of a domain


@pytest.fixture(scope="module")
def cache(tmp_path_factory, piano):
    audio, rate = piano
    half = len(audio) // 2
    # A file whose first half is silent: the silence test draws from it.
    gappy = np.concatenate([np.zeros(half, np.float32), audio[:half]])
    items = [
        (SourceFile("/music/a.wav", "music", True), (audio[:half], "")),
        (SourceFile("/speech/b.wav", "speech", False), (audio[half:], "")),
        (SourceFile("/environmental/gappy.wav", "environmental", False), (gappy, "")),
    ]
    folder = tmp_path_factory.mktemp("c") / "cache"
    write_cache(items, folder, rate)
    return AudioCache(folder)


def _config(**kwargs) -> DataConfig:
    return DataConfig(**{"num_workers": 0, "excerpt_seconds": 0.1, **kwargs})


def test_items_are_a_pure_function_of_seed_step_index(cache):
    a = ExcerptDataset(cache, _config(), batch_size=6, seed=1)
    b = ExcerptDataset(cache, _config(), batch_size=6, seed=1)
    c = ExcerptDataset(cache, _config(), batch_size=6, seed=2)
    for key in [(0, 0), (5, 3), (123456, 5)]:
        assert torch.equal(a[key][0], b[key][0]) and a[key][1] == b[key][1]
    assert not torch.equal(a[(5, 3)][0], a[(6, 3)][0])
    assert not torch.equal(a[(5, 3)][0], c[(5, 3)][0])


def test_worker_processes_and_ranks_see_the_same_global_batches(cache):
    single = ExcerptDataset(cache, _config(), batch_size=6, seed=3)
    reference = [batch for batch, _ in make_loader(single, 10, 13, 6)]
    workers = ExcerptDataset(cache, _config(num_workers=2), batch_size=6, seed=3)
    assert all(torch.equal(x, y) for x, y in zip(reference, (b for b, _ in make_loader(workers, 10, 13, 6))))
    # Rank r of 3 takes slots r, r + 3 of each global batch; resuming at step 11 continues the same stream.
    for rank in range(3):
        shards = [batch for batch, _ in make_loader(single, 11, 13, 6, rank=rank, world=3)]
        for step, shard in enumerate(shards, start=1):
            assert torch.equal(shard, reference[step][rank::3])
    with pytest.raises(ConfigError, match="divisible"):
        make_loader(single, 0, 1, 6, rank=0, world=4)


def test_excerpts_are_loud_balanced_and_bounded(cache):
    dataset = ExcerptDataset(cache, _config(), batch_size=6, seed=0)
    audio, domains = next(iter(make_loader(dataset, 0, 1, 6)))
    assert audio.shape == (6, 1, 4410) and audio.dtype == torch.float32
    assert Counter(domains.tolist()) == {0: 2, 1: 2, 2: 2}
    assert float(audio.abs().max()) <= 1.0
    levels = [loudness(x[0].numpy(), RATE) for x in audio]
    assert all(abs(level + 24.0) < 0.5 for level in levels), levels  # phase rotation moves it slightly


def test_near_silent_excerpts_are_redrawn(cache):
    gappy = next(i for i, f in enumerate(cache.files) if "gappy" in f.path)
    only_gappy = AudioCache(cache.folder, only=[cache.files[gappy].path])

    def silent_share(max_tries: int) -> float:
        dataset = ExcerptDataset(only_gappy, _config(max_tries=max_tries, loudness_db=None), 1, seed=0)
        levels = [loudness(dataset.excerpt(step, 0)[0], RATE) for step in range(40)]
        return float(np.mean([level <= -40 for level in levels]))

    assert silent_share(1) > 0.3  # half the file is silence
    assert silent_share(8) == 0.0


def test_validation_excerpts_are_fixed(cache):
    a = validation_excerpts(cache, 4, 0.2, -24.0)
    b = validation_excerpts(cache, 4, 0.2, -24.0)
    assert a.shape == (4, 1, 8820) and torch.equal(a, b)
    assert not torch.equal(a[0], a[3])  # file 0 visited twice, at different positions
