"""Follow the README literally: a non-editable install in a fresh virtual environment, then
its first command, then parse what it wrote.

The fresh environment must not see any other copy of designed-alliance (the machine's, an
editable one) and must not need the network. So it is made without system site-packages,
and the dependencies come from a wheelhouse packed from the distributions the running
interpreter has installed: pip then resolves the wheel's own `Requires-Dist` from it, as it
would from PyPI, so a dependency missing from pyproject.toml fails here.
"""

from __future__ import annotations

import base64
import csv
import email
import email.policy
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from importlib import metadata
from pathlib import Path

import icalendar
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .conftest import ROOT

pytestmark = pytest.mark.slow


def first_command() -> str:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)\n```", readme, re.S)
    assert block is not None, "README must start with a sh block"
    return block.group(1).strip()


def _requirements(dist: metadata.Distribution, extras: frozenset[str]) -> list[Requirement]:
    out = []
    for line in dist.requires or []:
        req = Requirement(line)
        if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in extras or {""}):
            out.append(req)
    return out


def needed_distributions(wheel: Path) -> list[metadata.Distribution]:
    """The installed distributions the wheel needs, transitively (its extras left out)."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        requires = email.message_from_bytes(archive.read(name)).get_all("Requires-Dist") or []
    todo = [Requirement(r) for r in requires]
    todo = [r for r in todo if r.marker is None or r.marker.evaluate({"extra": ""})]
    found: dict[str, metadata.Distribution] = {}
    while todo:
        req = todo.pop()
        key = canonicalize_name(req.name)
        if key in found:
            continue
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            pytest.fail(f"{req.name} (needed by the wheel) is not installed here: "
                        "run pip install -e '.[dev]' first")
        found[key] = dist
        todo.extend(_requirements(dist, frozenset(req.extras)))
    return list(found.values())


def repack(dist: metadata.Distribution, folder: Path) -> Path:
    """An installed distribution back into a wheel, from the files its RECORD lists."""
    files = dist.files
    assert files is not None, f"{dist.metadata['Name']} has no RECORD; cannot repack it"
    name = re.sub(r"[^\w.]+", "_", canonicalize_name(dist.metadata["Name"]))
    info = f"{name}-{dist.version}.dist-info"
    target = folder / f"{name}-{dist.version}-py3-none-any.whl"
    record: list[tuple[str, str, str]] = []
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        def add(arcname: str, data: bytes) -> None:
            archive.writestr(arcname, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append((arcname, f"sha256={digest.decode()}", str(len(data))))

        for file in files:
            posix = file.as_posix()
            # Scripts (../../bin) are remade by pip from entry_points.txt; bytecode is remade.
            if posix.startswith("..") or posix.endswith(".pyc") or "/__pycache__/" in posix:
                continue
            if posix.split("/")[0].endswith(".dist-info"):
                base = posix.split("/", 1)[1]
                if base in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json", "WHEEL"):
                    continue
                posix = f"{info}/{base}"
            path = Path(dist.locate_file(file))
            if path.is_file():
                add(posix, path.read_bytes())
        add(f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: test_readme\n"
            b"Root-Is-Purelib: true\nTag: py3-none-any\n")
        rows = io.StringIO()
        csv.writer(rows, lineterminator="\n").writerows([*record, (f"{info}/RECORD", "", "")])
        archive.writestr(f"{info}/RECORD", rows.getvalue())
    return target


def test_readme_first_command_works_from_a_built_wheel(tmp_path: Path) -> None:
    command = first_command()
    install, _, main = command.partition(" && ")
    assert install == "pip install ."
    assert main.startswith("alliance setup examples/")

    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", "alliance-out", "*.egg-info", "build", "dist", ".venv", "__pycache__",
        ".hypothesis", ".pytest_cache", ".ruff_cache"))
    wheels = tmp_path / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                            "--no-build-isolation", "--no-index", "-q", "-w", str(wheels),
                            str(source)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("designed_alliance-*.whl")
    for dist in needed_distributions(wheel):
        repack(dist, wheels)

    # A fresh environment that sees nothing of this machine's site-packages.
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=False, with_pip=True, symlinks=os.name != "nt")
    bin_dir = env_dir / "bin"
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV"))}
    installed = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "-q", "--no-index",
         "--isolated", "--find-links", str(wheels), str(wheel)],
        capture_output=True, text=True, env=clean)
    assert installed.returncode == 0, installed.stderr

    work = tmp_path / "user"
    shutil.copytree(ROOT / "examples", work / "examples")
    home = tmp_path / "home"
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "HOME": str(home),
           "XDG_STATE_HOME": str(home / "state"), "XDG_CONFIG_HOME": str(home / "config"),
           "XDG_CACHE_HOME": str(home / "cache"), "LANG": "C.UTF-8"}
    result = subprocess.run(main, shell=True, cwd=work, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    # The installed copy ran, not the source tree nor the machine's copy.
    where = subprocess.run([str(bin_dir / "python"), "-c",
                            "import designed_alliance, click; "
                            "print(designed_alliance.__file__); print(click.__file__)"],
                           capture_output=True, text=True, cwd=work, env=env, check=True)
    package_file, click_file = where.stdout.splitlines()
    assert Path(package_file).is_relative_to(env_dir), package_file
    assert Path(click_file).is_relative_to(env_dir), click_file
    # The wheel carries the example configuration that `alliance config init` writes.
    with zipfile.ZipFile(wheel) as archive:
        assert any(n.endswith("/config.example.toml") for n in archive.namelist())

    out = work / "examples" / "alliance-out" / "mobile-app-beta-9q2m"  # beside the file
    whole = icalendar.Calendar.from_ical((out / "alliance.ics").read_bytes())
    keys = {str(e["X-DESIGNED-ALLIANCE-KEY"]) for e in whole.walk("VEVENT")}
    assert {"checkins", "review", "celebration", "commitment:design"} <= keys
    kickoff = email.message_from_bytes((out / "kickoff.eml").read_bytes(),
                                       policy=email.policy.default)
    assert kickoff["X-Unsent"] == "1"
    assert len(list(kickoff.iter_attachments())) == len(keys)
    assert "Files are in" in result.stdout
