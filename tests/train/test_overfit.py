"""Training works: steps on one real 1 s clip at least halve its mel distance."""

from __future__ import annotations

import pytest
import soundfile as sf
import torch

from rvqgan.data import AudioCache, SourceFile, prepare_cache
from rvqgan.losses import MelLoss
from rvqgan.train import Trainer
from tests.train.helpers import PIANO, tiny_train_config


@pytest.fixture(scope="module")
def clip_cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("clip")
    audio, rate = sf.read(PIANO, dtype="float32")
    sf.write(root / "clip.wav", audio[:rate], rate)
    prepare_cache([SourceFile(str(root / "clip.wav"), "music", True)], root / "cache", 44100)
    return root / "cache"


def _mel_distance(trainer: Trainer, clip: torch.Tensor) -> float:
    trainer.generator.eval()
    with torch.no_grad():
        distance = float(MelLoss(44100)(trainer.generator(clip).audio, clip))
    trainer.generator.train()
    return distance


def _overfit(cache, run_dir, *overrides) -> tuple[float, float]:
    trainer = Trainer(tiny_train_config(cache, "log.every=1000", *overrides), run_dir)
    clip = torch.from_numpy(AudioCache(cache).read(0))[None, None]
    clip = 0.5 * clip / clip.abs().max()
    before = _mel_distance(trainer, clip)
    trainer.run()
    return before, _mel_distance(trainer, clip)


def test_short_gan_training_halves_the_mel_distance(clip_cache, tmp_path):
    # ~15 s: a high learning rate and short excerpts, the full GAN objective.
    before, after = _overfit(clip_cache, tmp_path, "schedule.max_steps=80", "optim.lr=3.0e-3",
                             "data.excerpt_seconds=0.1")
    assert after < 0.5 * before, (before, after)


@pytest.mark.slow
def test_a_few_hundred_steps_halve_the_mel_distance(clip_cache, tmp_path):
    # ~2-3 min on 2 shared cores: 300 steps of 2 x 0.2 s at lr 1e-3.
    before, after = _overfit(clip_cache, tmp_path, "schedule.max_steps=300", "optim.lr=1.0e-3",
                             "data.excerpt_seconds=0.2")
    assert after < 0.5 * before, (before, after)
