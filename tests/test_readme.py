"""Follow the README literally: a non-editable install in a fresh virtual environment, then
its first command, then parse what it wrote."""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import icalendar
import pytest

from .conftest import ROOT

pytestmark = pytest.mark.slow


def first_command() -> str:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)\n```", readme, re.S)
    assert block is not None, "README must start with a sh block"
    return block.group(1).strip()


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
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(wheels), str(source)], check=True, capture_output=True)
    (wheel,) = wheels.glob("designed_alliance-*.whl")

    # A fresh environment; the machine's site-packages lend the dependencies (no network).
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=True)
    bin_dir = env_dir / "bin"
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", "--no-deps",
                    "--no-index", str(wheel)], check=True, capture_output=True)

    work = tmp_path / "user"
    shutil.copytree(ROOT / "examples", work / "examples")
    home = tmp_path / "home"
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "HOME": str(home),
           "XDG_STATE_HOME": str(home / "state"), "XDG_CONFIG_HOME": str(home / "config"),
           "XDG_CACHE_HOME": str(home / "cache"), "LANG": "C.UTF-8"}
    result = subprocess.run(main, shell=True, cwd=work, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    # The installed copy ran, not the source tree.
    where = subprocess.run([str(bin_dir / "python"), "-c",
                            "import designed_alliance; print(designed_alliance.__file__)"],
                           capture_output=True, text=True, cwd=work, env=env, check=True)
    assert str(env_dir) in where.stdout

    out = work / "alliance-out" / "mobile-app-beta-9q2m"
    whole = icalendar.Calendar.from_ical((out / "alliance.ics").read_bytes())
    keys = {str(e["X-DESIGNED-ALLIANCE-KEY"]) for e in whole.walk("VEVENT")}
    assert {"checkins", "review", "celebration", "commitment:design"} <= keys
    kickoff = email.message_from_bytes((out / "kickoff.eml").read_bytes(),
                                       policy=email.policy.default)
    assert kickoff["X-Unsent"] == "1"
    assert len(list(kickoff.iter_attachments())) == len(keys)
    assert "Files are in" in result.stdout
