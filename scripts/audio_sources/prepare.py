"""Fetch the packages a build needs and assign their files to catalogue sources."""

from __future__ import annotations

import shutil
from pathlib import Path

from .fetch import FetchError, Log, PackageFiles, ensure_package
from .resolve import assign_files


def prepare_sources(needed, catalogue, packages, cache: Path, log: Log):
    """Download/unpack the packages of ``needed`` sources and list each source's files.

    A package that cannot be fetched is reported and its sources are left out, so one
    vanished package does not stop a build; the caller prints the failures.

    Args:
        needed: the sources to build from.
        catalogue: every catalogue source (all splits), so that a file claimed by a test
            and a train source raises :class:`~audio_sources.resolve.CatalogueError`.
        packages: catalogue packages.
        cache: download/unpack cache folder.
        log: message sink.

    Returns:
        ``(unpacked, files, failures)``: per package name its :class:`PackageFiles`, per
        needed source id its sorted audio paths, and ``"package: reason"`` strings.
    """
    names = sorted({s.package for s in needed})
    by_name = {p.name: p for p in packages}
    unpacked: dict[str, PackageFiles] = {}
    failures = []
    for name in names:
        try:
            unpacked[name] = ensure_package(by_name[name], cache, log)
        except FetchError as exc:
            failures.append(f"{name}: {exc}")
            log(f"WARNING: skipping package {name}: {exc}")
    package_files = {n: list(p.files) for n, p in unpacked.items()}
    assigned = assign_files([s for s in catalogue if s.package in unpacked], package_files)
    files = {s.id: assigned.get(s.id, []) for s in needed if s.package in unpacked}
    return unpacked, files, failures


def copy_licences(unpacked: dict[str, PackageFiles], out: Path) -> None:
    """Copy each package's copyright file to ``out/licences/NAME.txt``."""
    dest = out / "licences"
    dest.mkdir(parents=True, exist_ok=True)
    for name, pkg in unpacked.items():
        if pkg.copyright:
            shutil.copyfile(pkg.local(pkg.copyright), dest / f"{name}.txt")
