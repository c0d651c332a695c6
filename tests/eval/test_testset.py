"""The test-set manifest: domains, the per-domain limit, errors."""

from __future__ import annotations

import json

import pytest

from rvqgan.errors import InputError
from rvqgan.eval.testset import load_testset


@pytest.fixture
def manifest(tmp_path):
    lines = [json.dumps({"path": f"s/{i}.flac", "domain": "speech"}) for i in range(10)]
    lines += [json.dumps({"path": f"m/{i}.flac", "domain": "music", "full_band": True}) for i in range(4)]
    path = tmp_path / "manifest.jsonl"
    path.write_text("\n".join(lines) + "\n\n")
    return path


def test_limit_spreads_evenly_within_each_domain(manifest):
    clips = load_testset(manifest, limit=3)
    assert [c.id for c in clips] == ["s/0.flac", "s/3.flac", "s/6.flac", "m/0.flac", "m/1.flac", "m/2.flac"]
    assert clips[0].path == (manifest.parent / "s/0.flac").resolve()
    assert clips[3].full_band and not clips[0].full_band
    assert len(load_testset(manifest)) == 14
    assert [c.id for c in load_testset(manifest, domains=["music"], limit=10)] == [f"m/{i}.flac" for i in range(4)]


def test_bad_manifests_raise_input_error(manifest, tmp_path):
    with pytest.raises(InputError, match="unknown domain"):
        load_testset(manifest, domains=["noise"])
    with pytest.raises(InputError, match="at least 1"):
        load_testset(manifest, limit=0)
    twice = tmp_path / "twice.jsonl"
    twice.write_text(manifest.read_text().splitlines()[0] + "\n" + manifest.read_text().splitlines()[0] + "\n")
    with pytest.raises(InputError, match="twice"):
        load_testset(twice)
