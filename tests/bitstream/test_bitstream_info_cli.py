"""``rvqgan info``: header and facts as JSON, ``--verify``, exit codes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rvqgan.cli.main import main
from tests.bitstream.helpers import make_header, random_codes, write_bytes
from tests.conftest import REAL_CLIP

FLAC = str(REAL_CLIP)


@pytest.fixture
def rvq_file(tmp_path):
    header = make_header(n_codebooks=9, chunk_frames=16, original_sample_rate=44100, original_length=44100 * 2)
    frames = -(-44100 * 2 // 512)  # 2 s -> 173 frames
    path = tmp_path / "a.rvq"
    path.write_bytes(write_bytes(header, random_codes(np.random.default_rng(8), header, frames)))
    return path, header, frames


@pytest.mark.parametrize("verify", [False, True])
def test_info_prints_header_and_facts(rvq_file, capsys, verify):
    path, header, frames = rvq_file
    assert main(["info", str(path)] + (["--verify"] if verify else [])) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["header"] == header.to_dict()
    facts = report["facts"]
    assert facts["total_frames"] == frames
    assert facts["n_chunks"] == -(-frames // 16)
    assert facts["duration_seconds"] == pytest.approx(2.0)
    assert facts["file_bytes"] == path.stat().st_size
    assert facts["nominal_kbps"] == pytest.approx(9 * 10 * 44100 / 512 / 1000)
    assert facts["bits_per_second"] == pytest.approx(path.stat().st_size * 8 / (frames * 512 / 44100))
    nominal_bytes = 9 * 10 * frames / 8  # a short file: the ~300-byte header dominates
    assert facts["overhead_percent"] == pytest.approx(100 * (path.stat().st_size - nominal_bytes) / nominal_bytes)
    assert report["verified"] is verify and report["error"] is None


def test_verify_reports_the_first_corrupt_chunk(rvq_file, capsys):
    path, _, _ = rvq_file
    data = bytearray(path.read_bytes())
    data[-200] ^= 0x04  # inside a late chunk, far from the end record
    path.write_bytes(bytes(data))
    assert main(["info", str(path)]) == 0  # header and end record alone look fine
    capsys.readouterr()
    assert main(["info", str(path), "--verify"]) == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["verified"] is False and "is corrupt" in report["error"]
    assert "is corrupt" in captured.err


def test_truncated_file_fails_even_without_verify(rvq_file, capsys):
    path, _, _ = rvq_file
    path.write_bytes(path.read_bytes()[:-10])
    assert main(["info", str(path)]) == 1
    assert "end-of-stream" in json.loads(capsys.readouterr().out)["error"]


def test_info_on_a_flac_is_a_clean_error(capsys):
    assert main(["info", FLAC]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "not an .rvq file" in captured.err and "FLAC" in captured.err
