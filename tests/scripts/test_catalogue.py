"""The catalogue splits by source and the file resolver refuses files claimed twice."""

from __future__ import annotations

import dataclasses

import pytest
import sources
from audio_sources.resolve import CatalogueError, assign_files, glob_regex, is_audio


def test_catalogue_is_valid():
    assert sources.catalogue_errors() == []


def test_every_domain_has_test_and_train_sources():
    for domain in sources.DOMAINS:
        assert sources.select("test", (domain,))
        assert sources.select("train", (domain,))


def test_whole_packages_held_out_are_not_trained_on():
    """A package used by test sources only as a whole must not appear in training at all."""
    whole = {"wesnoth-1.16-music"}
    assert not any(s.package in whole for s in sources.select("train"))


def test_held_out_parts_are_excluded_from_train_patterns():
    """Voice packs / levels / languages held out for test are excluded from the train sources of the package."""
    files = {
        "hedgewars-data": [f"usr/share/games/hedgewars/Data/Sounds/voices/{v}/Hello.ogg"
                           for v in sources.HEDGEWARS_TEST_VOICES + ("Default", "Robot")]
        + ["usr/share/games/hedgewars/Data/Sounds/bee.ogg", "usr/share/games/hedgewars/Data/Music/Art.ogg"],
        "fillets-ng-data-cs": [f"usr/share/games/fillets-ng/sound/{lv}/cs/x.ogg"
                               for lv in sources.FILLETS_TEST_LEVELS + ("barrel",)],
        "klettres-data": [f"usr/share/klettres/{lang}/alpha/a.ogg" for lang in sources.KLETTRES_TEST_LANGS + ("de",)],
        "0ad-data": [f"usr/share/games/0ad/mods/public/public.zip!audio/{p}.ogg"
                     for p in ("ambient/water/a", "ambient/weather/b", "resource/mining/c", "ambient/dayscape/d",
                               "music/e", "voice/greek/f", "attack/impact/g")],
    }
    assigned = assign_files(sources.SOURCES, files)
    split = {s.id: s.split for s in sources.SOURCES}
    owners = {}
    for sid, paths in assigned.items():
        for p in paths:
            owners[p] = split[sid]
    assert len(owners) == sum(len(v) for v in files.values())  # every file has exactly one owner
    for v in sources.HEDGEWARS_TEST_VOICES:
        assert owners[f"usr/share/games/hedgewars/Data/Sounds/voices/{v}/Hello.ogg"] == "test"
    assert owners["usr/share/games/hedgewars/Data/Sounds/voices/Default/Hello.ogg"] == "train"
    assert owners["usr/share/games/fillets-ng/sound/barrel/cs/x.ogg"] == "train"
    assert owners["usr/share/klettres/de/alpha/a.ogg"] == "train"
    assert owners["usr/share/games/0ad/mods/public/public.zip!audio/ambient/water/a.ogg"] == "test"
    assert owners["usr/share/games/0ad/mods/public/public.zip!audio/ambient/dayscape/d.ogg"] == "train"


def test_a_file_claimed_by_test_and_train_is_an_error():
    test = sources.select("test", ("speech",))[0]
    leak = dataclasses.replace(test, id="leak", split="train", exclude=())
    files = {test.package: ["usr/share/games/hedgewars/Data/Sounds/voices/British/Hello.ogg"]}
    with pytest.raises(CatalogueError, match="claimed by sources"):
        assign_files([test, leak], files)


def test_catalogue_errors_catch_mistakes():
    s = sources.SOURCES[0]
    bad = (s, dataclasses.replace(s, split="dev"), dataclasses.replace(s, id="other", package="nope", weight=0.0))
    errors = " ".join(sources.catalogue_errors(bad))
    assert "listed twice" in errors and "unknown split" in errors
    assert "unknown package" in errors and "weight" in errors and "no train source" in errors


def test_glob_semantics():
    assert glob_regex("a/*/c").match("a/b/c") and not glob_regex("a/*/c").match("a/b/x/c")
    assert glob_regex("a/**").match("a/b/x/c")
    assert glob_regex("x.zip!audio/*").match("x.zip!audio/y.ogg")
    assert is_audio("A.OGG") and is_audio("b.opus") and not is_audio("c.png")
