"""benchmarks/refine_objective.py: its search settings and its scores."""

from __future__ import annotations

import argparse
import math

import pytest
import torch

from rvqgan.eval.testset import read_clip
from tests.conftest import REAL_CLIP, load_repo_script


def load_script():
    return load_repo_script("benchmarks/refine_objective.py")


def test_search_spec_parses_into_a_refine_config():
    search = load_script().Search.parse("7:6:0.2:0.3")
    assert search.codebooks == 7
    assert (search.config.steps, search.config.lr, search.config.sisdr_weight) == (6, 0.2, 0.3)
    assert str(search) == "q7 6 steps lr 0.2 sisdr 0.3"
    without_mel = load_script().Search.parse("9:8:0.2:0.3:0")
    assert (without_mel.config.steps, without_mel.config.mel_weight) == (8, 0.0)
    assert str(without_mel) == "q9 8 steps lr 0.2 sisdr 0.3 mel 0"


@pytest.mark.parametrize("text", ["9:6:0.2", "9:6:0.2:0.3:1:1", "q9:6:0.2:0.3", "9:6:0.2:0.3:-1", "9:-1:0.2:0", "9:6:0:0", "9:6:0.2:-1"])
def test_bad_search_spec_is_refused_with_the_expected_form(text):
    with pytest.raises(argparse.ArgumentTypeError, match=r"Q:STEPS:LR:SISDR\[:MEL\]"):
        load_script().Search.parse(text)


def test_scores_match_the_evaluation_metrics(tiny_model):
    script = load_script()
    from rvqgan.eval.metrics import MetricSuite, si_sdr

    audio = torch.from_numpy(read_clip(REAL_CLIP, tiny_model.sample_rate, max_seconds=0.5))[None, None]
    codes = tiny_model.encode(tiny_model.pad_to_hop(audio), tiny_model.n_codebooks)
    suite = MetricSuite(tiny_model.sample_rate, visqol=False, speech=False)
    (row,) = script.score(tiny_model, audio, codes, suite)
    with torch.no_grad():
        decoded = tiny_model.decode(codes)[0, 0, : audio.shape[-1]].numpy()
    assert row["sisdr"] == pytest.approx(si_sdr(audio[0, 0].numpy(), decoded))
    assert row["mel"] == pytest.approx(suite.spectral(audio[0, 0].numpy(), decoded)["mel"])
    assert all(math.isfinite(v) for v in row.values())
