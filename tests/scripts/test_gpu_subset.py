"""scripts/build_gpu_subset.py: balanced, disjoint corpus parts that `rvqgan prepare` reads."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from build_gpu_subset import main

from rvqgan.data import prepare_cache, read_manifest
from tests.conftest import REAL_CLIP

DOMAINS = ("speech", "music", "environmental")


@pytest.fixture
def corpus(tmp_path):
    """Six 1 s excerpts of the real piano clip, two per domain, with a corpus-style manifest."""
    audio, rate = sf.read(REAL_CLIP, dtype="float32")
    root = tmp_path / "corpus"
    rows = []
    for n in range(6):
        path = f"44100/{DOMAINS[n % 3]}/clip{n}.flac"
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        sf.write(root / path, audio[n * 15000 : n * 15000 + rate, 0], rate)
        rows.append({"path": path, "domain": DOMAINS[n % 3], "full_band": n < 3, "weight": 1.0})
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def test_parts_are_balanced_disjoint_and_prepare_reads_them(corpus, tmp_path):
    one_second = str(1 / 60)
    main([str(corpus / "manifest.jsonl"), "-o", str(tmp_path / "a"), "--minutes", one_second])
    main([str(corpus / "manifest.jsonl"), "-o", str(tmp_path / "b"), "--minutes", one_second,
          "--exclude", str(tmp_path / "a" / "manifest.jsonl")])
    parts = [[json.loads(line) for line in (tmp_path / p / "manifest.jsonl").read_text().splitlines()] for p in "ab"]
    for entries in parts:
        assert sorted(e["domain"] for e in entries) == sorted(DOMAINS)  # one file per domain each
    assert not {e["source"] for e in parts[0]} & {e["source"] for e in parts[1]}
    assert len({e["source"] for e in parts[0] + parts[1]}) == 6

    # The Vorbis copy is close to the original (far closer than a 7.75 kbps codec resolves).
    entry = parts[0][0]
    original, _ = sf.read(corpus / entry["source"], dtype="float32")
    packed, rate = sf.read(tmp_path / "a" / entry["path"], dtype="float32")
    assert rate == 44100 and len(packed) == len(original)
    snr = 10 * np.log10(np.sum(original**2) / np.sum((original - packed) ** 2))
    assert snr > 20, snr

    # Domain and full-band flag travel with each file.
    corpus_rows = {r["path"]: r for r in map(json.loads, (corpus / "manifest.jsonl").read_text().splitlines())}
    files = read_manifest(tmp_path / "a" / "manifest.jsonl")
    for f, e in zip(files, parts[0], strict=True):
        assert (f.domain, f.full_band) == (corpus_rows[e["source"]]["domain"], corpus_rows[e["source"]]["full_band"])
    index = prepare_cache(files, tmp_path / "cache", 44100)
    assert len(index["files"]) == 3 and not index["skipped"]


def test_an_existing_part_is_not_overwritten(corpus, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "keep.txt").write_text("mine")
    with pytest.raises(SystemExit, match="exists"):
        main([str(corpus / "manifest.jsonl"), "-o", str(tmp_path / "a"), "--minutes", "1"])
    assert (tmp_path / "a" / "keep.txt").read_text() == "mine"
