"""The disjointness checker flags every kind of overlap between a test set and a corpus."""

from __future__ import annotations

import copy

import pytest
import sources
from audio_sources.disjoint import DisjointnessError, check_disjoint, disjointness_problems

TEST_ID = "hedgewars-data/voices/British"
TRAIN_ID = "hedgewars-data/voices-train"


def make_test_row(**changes):
    part = {"source_path": "voices/British/Hello.ogg", "orig_sha256": "o1", "audio_sha256": "a1"}
    row = {"path": "speech/000.flac", "source": "hedgewars-data", "source_id": TEST_ID,
           "source_path": "voices/British", "sha256": "w1", "parts": [part]}
    row.update(changes)
    return row


def corpus_row(**changes):
    row = {"path": "44100/speech/x.flac", "source": "hedgewars-data", "source_id": TRAIN_ID,
           "source_path": "voices/Default/Hello.ogg", "sha256": "w2", "orig_sha256": "o2", "audio_sha256": "a2"}
    row.update(changes)
    return row


def test_disjoint_pair_passes():
    assert disjointness_problems([make_test_row()], [corpus_row()], sources.SOURCES) == []
    check_disjoint([make_test_row()], [corpus_row()], sources.SOURCES)


@pytest.mark.parametrize("changes, needle", [
    ({"source_id": TEST_ID}, "source ids"),
    ({"source_path": "voices/British/Hello.ogg"}, "by package path"),
    ({"orig_sha256": "o1"}, "by checksum"),
    ({"audio_sha256": "a1"}, "decoded audio"),
    ({"sha256": "w1"}, "written files"),
])
def test_each_overlap_is_caught(changes, needle):
    with pytest.raises(DisjointnessError, match=needle):
        check_disjoint([make_test_row()], [corpus_row(**changes)])


def test_wrong_catalogue_split_is_caught():
    problems = disjointness_problems([make_test_row(source_id=TRAIN_ID)], [corpus_row(source_id=TEST_ID)],
                                     sources.SOURCES)
    text = " ".join(problems)
    assert "not mark 'test'" in text and "not mark 'train'" in text


def test_overlap_in_a_later_part_of_a_concatenated_clip():
    row = make_test_row()
    row["parts"] = [copy.deepcopy(row["parts"][0]), {"source_path": "voices/British/Bye.ogg",
                                                     "orig_sha256": "o9", "audio_sha256": "a9"}]
    with pytest.raises(DisjointnessError, match="by checksum"):
        check_disjoint([row], [corpus_row(orig_sha256="o9")])
