"""Match catalogue sources to the files of unpacked packages (pure, no I/O)."""

from __future__ import annotations

import re
from functools import cache

AUDIO_EXTENSIONS = (".ogg", ".oga", ".opus", ".wav", ".flac", ".aiff", ".aif", ".mp3")


class CatalogueError(RuntimeError):
    """The catalogue is inconsistent (e.g. one file claimed by a test and a train source)."""


def is_audio(path: str) -> bool:
    """Whether a path names an audio file the builders decode (by extension)."""
    return path.lower().endswith(AUDIO_EXTENSIONS)


@cache
def glob_regex(pattern: str) -> re.Pattern[str]:
    """Compile a path glob: ``**`` matches across folders, ``*`` and ``?`` within one."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def matches(path: str, patterns: tuple[str, ...]) -> bool:
    """Whether ``path`` matches any of the glob ``patterns``."""
    return any(glob_regex(p).match(path) for p in patterns)


def assign_files(sources, package_files: dict[str, list[str]]) -> dict[str, list[str]]:
    """Give every audio file of the packages to at most one source.

    Args:
        sources: catalogue :class:`~sources.Source` entries (all splits, so that a file
            claimed by both a test and a train source is caught).
        package_files: per package name, the paths inside it (``ARCHIVE!MEMBER`` for
            members of archives).

    Returns:
        Per source id, its sorted audio paths.

    Raises:
        CatalogueError: a file matches two sources; the message names both.
    """
    owner: dict[tuple[str, str], str] = {}
    out: dict[str, list[str]] = {s.id: [] for s in sources}
    for s in sources:
        for path in package_files.get(s.package, []):
            if not is_audio(path) or not matches(path, s.include) or matches(path, s.exclude):
                continue
            key = (s.package, path)
            if key in owner:
                raise CatalogueError(f"{s.package}:{path} is claimed by sources {owner[key]!r} and {s.id!r}; "
                                     "fix the include/exclude patterns in scripts/sources.py")
            owner[key] = s.id
            out[s.id].append(path)
    return {k: sorted(v) for k, v in out.items()}
