"""The encode/decode/info helpers for entropy coding, and format-2 details of the bitstream."""

from __future__ import annotations

import argparse
import io
import os
from pathlib import Path

import numpy as np
import pytest

import rvqgan
from rvqgan.bitstream import KIND_LM, EntropyInfo, RvqHeader, RvqReader, RvqWriter
from rvqgan.bitstream.layout import RvqEnd, crc32, encode_chunk, encode_end, encode_preamble
from rvqgan.cli.entropy_options import (
    add_decode_options,
    add_encode_options,
    chunk_kinds,
    compress_kwargs,
    decompress_kwargs,
    payload_facts,
    salvage_note,
)
from rvqgan.errors import BitstreamError, InputError
from tests.bitstream.helpers import make_header
from tests.conftest import REAL_CLIP


def test_options_parse_and_map_to_api_arguments(codec_dir, tmp_path):
    parser = argparse.ArgumentParser()
    add_encode_options(parser)
    add_decode_options(parser)
    model = rvqgan.load_model(codec_dir / "tiny.safetensors")
    assert compress_kwargs(parser.parse_args(["--entropy", "auto"]), model) == {"entropy": "lm"}
    assert compress_kwargs(parser.parse_args([]), model) == {"entropy": "none"}
    assert decompress_kwargs(parser.parse_args(["--salvage"])) == {"salvage": True}
    with pytest.raises(SystemExit):
        parser.parse_args(["--entropy", "zip"])
    (tmp_path / "m.safetensors").write_bytes((codec_dir / "tiny.safetensors").read_bytes())
    bare = rvqgan.load_model(tmp_path / "m.safetensors")
    assert compress_kwargs(parser.parse_args(["--entropy", "auto"]), bare) == {"entropy": "none"}


def test_payload_facts_count_exactly_the_payloads(codec_dir, tmp_path):
    model = rvqgan.load_model(codec_dir / "tiny.safetensors")
    for entropy in ("none", "lm"):
        result = rvqgan.compress(model, REAL_CLIP, tmp_path / f"{entropy}.rvq", entropy=entropy, quality="fast")
        with RvqReader(result.path) as reader:
            end = reader.peek_end()
            facts = payload_facts(reader.header, end, os.path.getsize(result.path), reader.header_size)
            kinds = chunk_kinds(reader.records())
        assert facts["payload_bytes"] == result.payload_bytes
        assert facts["payload_bits_per_second"] == pytest.approx(
            8 * result.payload_bytes * model.frame_rate / end.total_frames
        )
        assert facts["entropy"] == entropy
        assert sum(kinds.values()) == end.n_chunks
    assert "lm" in kinds


def test_salvage_note_names_the_lost_spans():
    class Result:
        lost = ((1.0, 2.5),)
        problems = ("bytes 10..99 are damaged",)

    note = salvage_note(Path("a.rvq"), Result())
    assert "1.000 s .. 2.500 s" in note and "bytes 10..99" in note
    Result.lost, Result.problems = (), ()
    assert salvage_note(Path("a.rvq"), Result()) is None


def test_coded_chunk_kinds_must_match_the_header():
    info = EntropyInfo(coding="static", model_name="s", model_hash="h" * 16)
    header = make_header(n_codebooks=1, chunk_frames=8, entropy=info)
    data = (
        encode_preamble(header.to_json().encode())
        + encode_chunk(8, b"\x01\x00\x00\x00", kind=KIND_LM)
        + encode_end(RvqEnd(total_frames=8, original_length=None, n_chunks=1), crc32(b"\x01\x00\x00\x00"))
    )
    with pytest.raises(BitstreamError, match="does not match the header's static"):
        list(RvqReader(io.BytesIO(data)).records())
    old = make_header(format_version=1)
    with pytest.raises(BitstreamError, match="version 2"):
        RvqHeader(**dict(old.to_dict(), entropy=info, loudness=None))
    with pytest.raises(InputError, match="differ"):
        RvqWriter(io.BytesIO(), header)  # an entropy header without a coder


def test_writer_stores_raw_when_coding_would_not_shrink():
    class Useless:
        kind = KIND_LM

        def encode(self, codes):
            return b"\x01" * 10_000

    info = EntropyInfo(coding="lm", model_name="x", model_hash="h" * 16)
    header = make_header(n_codebooks=2, chunk_frames=8, entropy=info)
    sink = io.BytesIO()
    codes = np.random.default_rng(0).integers(0, 1024, size=(1, 2, 20))
    with RvqWriter(sink, header, chunk_coder=Useless()) as writer:
        writer.write_chunk(codes)
    assert writer.kind_counts == {1: 3}
    with RvqReader(io.BytesIO(sink.getvalue())) as reader:
        np.testing.assert_array_equal(np.concatenate(list(reader), axis=2), codes)
