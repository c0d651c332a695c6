"""The catalogue of real audio a fresh machine can install, and its train/test split.

One place says, for every source: which package it comes from (Debian package or PyPI
wheel, with a version pin), which paths inside it, its domain (speech / music /
environmental), its licence and its split. The split is made *by source*: whole packages,
whole voice packs, whole game levels, whole folders of one recording set; never by excerpt.
``build_testset.py`` uses the ``test`` sources, ``build_corpus.py`` the ``train`` ones, and
both refuse to run when :func:`catalogue_errors` finds a problem.

Path patterns are globs on the path inside the package: ``*`` stays within one folder,
``**`` crosses folders. Files inside a zip archive of a package (``.zip``, ``.pk3``,
``.whl``) are addressed as ``ARCHIVE!MEMBER``. See docs/data.md for the hours per source.
"""

from __future__ import annotations

from dataclasses import dataclass

DOMAINS = ("speech", "music", "environmental")
SPLITS = ("test", "train")


@dataclass(frozen=True)
class Package:
    """A package to download and the parts of it to unpack.

    Attributes:
        name: Debian package name, or PyPI project name for wheels.
        version: pinned version (the build falls back to the available one, loudly).
        kind: ``"deb"`` (``apt-get download``) or ``"wheel"`` (``pip download --no-deps``).
        roots: path prefixes (inside the package) worth unpacking; empty = every audio file.
        archives: zip archives inside the package to expand, as ``(path, member prefix)``.
    """

    name: str
    version: str
    kind: str = "deb"
    roots: tuple[str, ...] = ()
    archives: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Source:
    """A set of recordings that goes wholly to one split.

    Attributes:
        id: unique name, ``package/part``.
        package: name of the :class:`Package` it comes from.
        domain: one of :data:`DOMAINS`.
        split: ``"test"`` or ``"train"``.
        include: glob patterns of the paths inside the package.
        licence: licence of these files (see the package's copyright file, copied to the output).
        exclude: glob patterns removed from ``include``.
        weight: relative sampling weight of its files within the domain (training only).
        note: what it is.
    """

    id: str
    package: str
    domain: str
    split: str
    include: tuple[str, ...]
    licence: str
    exclude: tuple[str, ...] = ()
    weight: float = 1.0
    note: str = ""


_ZAD = "usr/share/games/0ad/mods/public/public.zip"
_HW = "usr/share/games/hedgewars/Data"
_FIL = "usr/share/games/fillets-ng/sound"
_KL = "usr/share/klettres"
_MG = "usr/share/games/megaglest"
_STK = "usr/share/games/supertuxkart/data"
_WMX = "usr/share/games/warmux"
_OA = "usr/share/games/openarena"
_AST = "usr/share/asterisk/sounds"

PACKAGES: tuple[Package, ...] = (
    Package("hedgewars-data", "1.0.2-6", roots=(f"{_HW}/Music", f"{_HW}/Sounds")),
    Package("fillets-ng-data-cs", "1.0.1-1.1"),
    Package("fillets-ng-data-nl", "1.0.1-1.1"),
    Package("klettres-data", "4:22.12.3-1"),
    Package("wesnoth-1.16-music", "1:1.16.9-1"),
    Package("wesnoth-1.16-data", "1:1.16.9-1", roots=("usr/share/games/wesnoth/1.16/data/core/sounds",
                                                      "usr/share/games/wesnoth/1.16/sounds")),
    Package("warmux-data", "1:11.04.1+repack2-4", roots=(f"{_WMX}/music", f"{_WMX}/sound")),
    Package("0ad-data", "0.0.26-1", roots=(_ZAD,), archives=((_ZAD, "audio/"),)),
    Package("warzone2100-music", "4.3.3-3"),
    Package("ufoai-music", "2.5-2", archives=(("usr/share/games/ufoai/base/0music.pk3", "music/"),)),
    Package("nexuiz-music", "2.5.2-12", archives=(("usr/share/games/nexuiz/data/music.pk3", "sound/"),)),
    Package("supertuxkart-data", "1.4+dfsg-2", roots=(f"{_STK}/music", f"{_STK}/sfx")),
    Package("colobot-common-sounds", "0.2.0-2"),
    Package("megaglest-data", "3.13.0-3"),
    Package("drascula-music", "1.0+ds4-2", roots=("usr/share/scummvm/drascula/audio",)),
    Package("pushover-data", "0.0.5+git20180909-4"),
    Package("extremetuxracer-data", "0.8.2-1"),
    Package("lincity-ng-data", "2.9~git20150314-5"),
    Package("sonic-pi-samples", "3.2.2~repack-8"),
    Package("hydrogen-drumkits", "2017.09.19~dfsg-1"),
    Package("openarena-data", "0.8.5split-14", archives=((f"{_OA}/baseoa/pak0.pk3", "sound/"),
                                                         (f"{_OA}/missionpack/mp-pak0.pk3", "sound/"))),
    Package("oxygen-sounds", "4:5.27.5-2"),
    Package("sound-theme-freedesktop", "0.8-2"),
    Package("asterisk-core-sounds-en-wav", "1.6.1-1"),
    Package("asterisk-core-sounds-es-wav", "1.6.1-1"),
    Package("asterisk-core-sounds-fr-wav", "1.6.1-1"),
    Package("asterisk-core-sounds-it-wav", "1.6.1-1"),
    Package("asterisk-core-sounds-ru-wav", "1.6.1-1"),
    Package("arcade", "3.3.3", kind="wheel", archives=(("arcade-3.3.3-py3-none-any.whl", "arcade/resources/assets/"),)),
)

# Held-out voice packs, levels and languages (the rest of each package trains).
HEDGEWARS_TEST_VOICES = ("British", "Default_es", "HillBilly", "Pirate")
FILLETS_TEST_LEVELS = ("corridor", "linux", "viking2")
KLETTRES_TEST_LANGS = ("en_GB", "fr")

_T, _R = "test", "train"
_S, _M, _E = "speech", "music", "environmental"


def _test_sources() -> list[Source]:
    out = [Source(f"hedgewars-data/voices/{v}", "hedgewars-data", _S, _T, (f"{_HW}/Sounds/voices/{v}/*",),
                  "GPL-2", note="game voice pack, 44.1/48 kHz Vorbis") for v in HEDGEWARS_TEST_VOICES]
    out += [Source(f"fillets-ng-data-cs/{lv}", "fillets-ng-data-cs", _S, _T, (f"{_FIL}/{lv}/cs/*",), "GPL-2",
                   note="Czech dialogue of one game level") for lv in FILLETS_TEST_LEVELS]
    out += [Source(f"klettres-data/{lang}", "klettres-data", _S, _T, (f"{_KL}/{lang}/**",), "GPL-2+",
                   note="letters and syllables read by one speaker") for lang in KLETTRES_TEST_LANGS]
    out += [
        Source("wesnoth-1.16-music", "wesnoth-1.16-music", _M, _T, ("**.ogg",), "GPL-2+",
               note="orchestral game music, whole package"),
        Source("warmux-data/music", "warmux-data", _M, _T, (f"{_WMX}/music/**",), "GPL-2+",
               note="game music (several composers)"),
        Source("0ad-data/ambient-water", "0ad-data", _E, _T, (f"{_ZAD}!audio/ambient/water/*",), "CC-BY-SA-3.0"),
        Source("0ad-data/ambient-weather", "0ad-data", _E, _T, (f"{_ZAD}!audio/ambient/weather/*",),
               "CC-BY-SA-3.0"),
        Source("0ad-data/resource", "0ad-data", _E, _T, (f"{_ZAD}!audio/resource/**",), "CC-BY-SA-3.0",
               note="foley: farming, mining, lumbering, construction"),
    ]
    return out


def _train_speech() -> list[Source]:
    voices = f"{_HW}/Sounds/voices"
    out = [
        Source("hedgewars-data/voices-train", "hedgewars-data", _S, _R, (f"{voices}/*/*",), "GPL-2",
               exclude=tuple(f"{voices}/{v}/*" for v in HEDGEWARS_TEST_VOICES), note="11 voice packs"),
        Source("fillets-ng-data-cs/train", "fillets-ng-data-cs", _S, _R, (f"{_FIL}/**",), "GPL-2",
               exclude=tuple(f"{_FIL}/{lv}/**" for lv in FILLETS_TEST_LEVELS), note="Czech dialogue, 22/44 kHz"),
        Source("fillets-ng-data-nl", "fillets-ng-data-nl", _S, _R, (f"{_FIL}/**",), "GPL-2",
               note="Dutch dialogue, 22 kHz"),
        Source("klettres-data/train", "klettres-data", _S, _R, (f"{_KL}/**",), "GPL-2+",
               exclude=tuple(f"{_KL}/{lang}/**" for lang in KLETTRES_TEST_LANGS), note="18 languages"),
        Source("0ad-data/voice", "0ad-data", _S, _R, (f"{_ZAD}!audio/voice/**",), "CC-BY-SA-3.0",
               note="unit acknowledgements in reconstructed ancient languages"),
        Source("warmux-data/voices", "warmux-data", _S, _R, (f"{_WMX}/sound/default/voices/*",), "GPL-2+"),
        Source("openarena-data/voices", "openarena-data", _S, _R, (f"{_OA}/missionpack/mp-pak0.pk3!sound/voices/**",),
               "GPL-2+", weight=0.5, note="announcer and taunt lines"),
    ]
    for lang in ("en", "es", "fr", "it", "ru"):
        out.append(Source(f"asterisk-core-sounds-{lang}-wav", f"asterisk-core-sounds-{lang}-wav", _S, _R,
                          (f"{_AST}/**.wav",), "CC-BY-SA-3.0", weight=0.5,
                          note="telephone prompts, 8 kHz: band-limited to 4 kHz"))
    return out


def _train_music() -> list[Source]:
    return [
        Source("warzone2100-music", "warzone2100-music", _M, _R, ("**.opus",), "GPL-2+ / CC-BY-SA-3.0"),
        Source("ufoai-music", "ufoai-music", _M, _R, ("**0music.pk3!music/*",), "GPL-2+ / CC-BY(-SA)"),
        Source("nexuiz-music", "nexuiz-music", _M, _R, ("**music.pk3!sound/cdtracks/*",), "GPL-2+"),
        Source("0ad-data/music", "0ad-data", _M, _R, (f"{_ZAD}!audio/music/*",), "CC-BY-SA-3.0"),
        Source("hedgewars-data/music", "hedgewars-data", _M, _R, (f"{_HW}/Music/*",), "GPL-2 / CC-BY-SA-3.0"),
        Source("supertuxkart-data/music", "supertuxkart-data", _M, _R, (f"{_STK}/music/*",), "CC-BY-SA / CC0"),
        Source("colobot-common-sounds/music", "colobot-common-sounds", _M, _R,
               ("usr/share/games/colobot/music/*",), "GPL-3+"),
        Source("megaglest-data/music", "megaglest-data", _M, _R,
               (f"{_MG}/techs/**/music/*", f"{_MG}/data/core/menu/music/*"), "CC-BY-SA-3.0 / GPL-2+"),
        Source("drascula-music", "drascula-music", _M, _R, ("usr/share/scummvm/drascula/audio/*",),
               "Drascula licence (free redistribution)"),
        Source("pushover-data", "pushover-data", _M, _R, ("usr/share/pushover/themes/*",), "GPL-3+"),
        Source("extremetuxracer-data/music", "extremetuxracer-data", _M, _R, ("usr/share/games/etr/music/*",),
               "GPL-2+ / CC0"),
        Source("lincity-ng-data/music", "lincity-ng-data", _M, _R, ("usr/share/games/lincity-ng/music/**",),
               "GPL-2+"),
        Source("sonic-pi-samples", "sonic-pi-samples", _M, _R, ("usr/share/sonic-pi/samples/*",),
               "CC0 / CC-BY-SA-4.0", note="lossless FLAC loops and instruments"),
        Source("hydrogen-drumkits", "hydrogen-drumkits", _M, _R, ("usr/share/hydrogen/data/drumkits/**",),
               "GPL-2+ / CC-BY / CC0", note="lossless drum one-shots"),
        Source("arcade/music", "arcade", _M, _R, ("arcade-*.whl!arcade/resources/assets/music/*",), "CC0"),
    ]


def _train_environmental() -> list[Source]:
    zad_test = ("ambient/water/*", "ambient/weather/*", "resource/**", "music/*", "voice/**")
    return [
        Source("0ad-data/effects", "0ad-data", _E, _R, (f"{_ZAD}!audio/**",), "CC-BY-SA-3.0",
               exclude=tuple(f"{_ZAD}!audio/{p}" for p in zad_test),
               note="ambience (dayscape, buildings), fauna, people, battle, interface"),
        Source("megaglest-data/effects", "megaglest-data", _E, _R, (f"{_MG}/**",), "CC-BY-SA-3.0 / GPL-2+",
               exclude=(f"{_MG}/techs/**/music/*", f"{_MG}/data/core/menu/music/*"),
               note="unit sounds (incl. short voice lines), tileset ambience"),
        Source("supertuxkart-data/sfx", "supertuxkart-data", _E, _R, (f"{_STK}/sfx/*",), "CC-BY-SA / CC0"),
        Source("hedgewars-data/effects", "hedgewars-data", _E, _R, (f"{_HW}/Sounds/*",), "GPL-2"),
        Source("colobot-common-sounds/effects", "colobot-common-sounds", _E, _R,
               ("usr/share/games/colobot/sounds/*",), "GPL-3+"),
        Source("warmux-data/effects", "warmux-data", _E, _R,
               (f"{_WMX}/sound/default/misc/*", f"{_WMX}/sound/default/weapons/*"), "GPL-2+"),
        Source("wesnoth-1.16-data/sounds", "wesnoth-1.16-data", _E, _R, ("usr/share/games/wesnoth/1.16/**",),
               "GPL-2+"),
        Source("openarena-data/effects", "openarena-data", _E, _R, (f"{_OA}/**.pk3!sound/**",), "GPL-2+",
               exclude=(f"{_OA}/missionpack/mp-pak0.pk3!sound/voices/**",)),
        Source("extremetuxracer-data/sounds", "extremetuxracer-data", _E, _R, ("usr/share/games/etr/sounds/*",),
               "GPL-2+"),
        Source("lincity-ng-data/sounds", "lincity-ng-data", _E, _R, ("usr/share/games/lincity-ng/sounds/**",),
               "GPL-2+"),
        Source("oxygen-sounds", "oxygen-sounds", _E, _R, ("usr/share/sounds/**",), "LGPL-3+"),
        Source("sound-theme-freedesktop", "sound-theme-freedesktop", _E, _R, ("usr/share/sounds/**",),
               "GPL-2+ / CC-BY-SA-3.0"),
        Source("arcade/sounds", "arcade", _E, _R, ("arcade-*.whl!arcade/resources/assets/sounds/*",), "CC0",
               note="kenney.nl effects"),
    ]


SOURCES: tuple[Source, ...] = tuple(_test_sources() + _train_speech() + _train_music() + _train_environmental())


def package(name: str) -> Package:
    """The catalogue entry of a package (KeyError if unknown)."""
    for pkg in PACKAGES:
        if pkg.name == name:
            return pkg
    raise KeyError(name)


def select(split: str, domains: tuple[str, ...] = DOMAINS, sources: tuple[Source, ...] = SOURCES) -> list[Source]:
    """The sources of one split (and the given domains), in catalogue order."""
    return [s for s in sources if s.split == split and s.domain in domains]


def catalogue_errors(sources: tuple[Source, ...] = SOURCES,
                     packages: tuple[Package, ...] = PACKAGES) -> list[str]:
    """Problems with a catalogue; an empty list means it is usable.

    Checks: unique ids, known packages / domains / splits, a positive weight, at least one
    include pattern, and that no source id is used by both splits. Whether two sources
    claim the same *file* can only be known once the packages are unpacked; see
    ``audio_sources.resolve.assign_files``, which the builders run as well.
    """
    errors = []
    names = {p.name for p in packages}
    seen: dict[str, str] = {}
    for s in sources:
        if s.id in seen:
            errors.append(f"source id {s.id!r} is listed twice ({seen[s.id]} and {s.split})")
        seen[s.id] = s.split
        if s.package not in names:
            errors.append(f"source {s.id!r}: unknown package {s.package!r}")
        if s.domain not in DOMAINS:
            errors.append(f"source {s.id!r}: unknown domain {s.domain!r}")
        if s.split not in SPLITS:
            errors.append(f"source {s.id!r}: unknown split {s.split!r}")
        if not s.include:
            errors.append(f"source {s.id!r}: no include pattern")
        if not s.weight > 0:
            errors.append(f"source {s.id!r}: weight must be > 0")
    for domain in DOMAINS:
        for split in SPLITS:
            if not any(s.domain == domain and s.split == split for s in sources):
                errors.append(f"no {split} source for domain {domain!r}")
    return errors
