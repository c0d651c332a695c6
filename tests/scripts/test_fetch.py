"""Unpacking helpers on local archives (no network): member filtering, safe paths, ARCHIVE!MEMBER names."""

from __future__ import annotations

import json
import zipfile

import sources
from audio_sources import fetch


def test_safe_relpath_rejects_escapes():
    assert fetch._safe_relpath("./usr/share/x.ogg") == "usr/share/x.ogg"
    assert fetch._safe_relpath("../etc/passwd") is None
    assert fetch._safe_relpath("/abs/x.ogg") is None
    assert fetch._safe_relpath("a/../../b.ogg") is None


def test_expand_archive_keeps_audio_under_prefix_and_names_members(tmp_path):
    archive = tmp_path / "game.pk3"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("sound/a.ogg", b"A")
        zf.writestr("sound/sub/b.WAV", b"B")
        zf.writestr("sound/readme.txt", b"no")
        zf.writestr("maps/c.ogg", b"outside the prefix")
        zf.writestr("../evil.ogg", b"escape")
    root = tmp_path / "files"
    fetch._expand_archive(archive, "sound/", root / "data/game.pk3.d")
    files = fetch._list_files(root)
    assert files == ["data/game.pk3!sound/a.ogg", "data/game.pk3!sound/sub/b.WAV"]
    pkg = fetch.PackageFiles("p", "1", "p.deb", root, tuple(files), None)
    assert pkg.local(files[1]).read_bytes() == b"B"
    assert not (tmp_path / "evil.ogg").exists()


def test_ensure_package_reuses_a_complete_unpack_without_downloading(tmp_path):
    pkg = sources.Package("some-data", "1.0")
    root = tmp_path / "files" / "some-data"
    root.mkdir(parents=True)
    (root / "x.ogg").write_bytes(b"x")
    info = {"version": "1.0", "artifact": "some-data_1.0_all.deb", "files": ["x.ogg"], "copyright": None}
    (root / fetch.MARKER).write_text(json.dumps(info))
    got = fetch.ensure_package(pkg, tmp_path, log=lambda m: None)
    assert got.files == ("x.ogg",) and got.version == "1.0"
    assert got.local("x.ogg").read_bytes() == b"x"
