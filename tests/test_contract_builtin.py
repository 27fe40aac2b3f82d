"""The target contract run against the in-memory fake and the ics target."""

from __future__ import annotations

from pathlib import Path

import icalendar
import pytest

from designed_alliance.core.config import Config
from designed_alliance.core.memory import MemoryTarget
from designed_alliance.core.target import Options
from designed_alliance.integrations.ics import IcsTarget

from .contract import RemoteView, TargetContract


class TestMemoryTarget(TargetContract):
    @pytest.fixture
    def target(self, tmp_path: Path):
        MemoryTarget.stores.clear()
        return MemoryTarget(Config(), Options(out_dir=tmp_path))

    @pytest.fixture
    def remote(self, target):
        def read() -> dict[str, RemoteView]:
            return {k: RemoteView("active" if o.status == "confirmed" else "cancelled",
                                  o.fingerprint, o.sequence)
                    for k, o in target.objects.items()}
        return read


class TestIcsTarget(TargetContract):
    @pytest.fixture
    def target(self, tmp_path: Path):
        return IcsTarget(Config(), Options(out_dir=tmp_path / "out"))

    @pytest.fixture
    def remote(self, target):
        def read() -> dict[str, RemoteView]:
            found = {}
            for path in sorted(target.folder.glob("*.ics")):
                if path.name == "alliance.ics":
                    continue
                cal = icalendar.Calendar.from_ical(path.read_bytes())
                method = str(cal.get("method"))
                for event in cal.walk("VEVENT"):
                    key = str(event["X-DESIGNED-ALLIANCE-KEY"])
                    assert key not in found, f"two files for {key}"
                    found[key] = RemoteView(
                        "cancelled" if method == "CANCEL" else "active",
                        str(event["X-DESIGNED-ALLIANCE-FINGERPRINT"]), int(event["SEQUENCE"]))
            return found
        return read
