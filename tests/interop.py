"""Independent parsers for the interop tests: ical.js (node) and vobject.

What `alliance` writes is built with `icalendar`; these read it the way other clients do.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

JS = Path(__file__).resolve().parent / "js"


def node_or_skip() -> str:
    """The node binary with ical.js installed beside the tests; skip only outside CI."""
    node = shutil.which("node")
    installed = (JS / "node_modules" / "ical.js" / "package.json").is_file()
    if node and installed:
        return node
    why = ("node is not installed" if not node else
           "ical.js is not installed: run `npm ci` in tests/js (as .ci/run does)")
    if os.environ.get("CI"):
        pytest.fail(f"{why} — CI must run the ical.js interop tests")
    if node is None:
        pytest.skip(why)
    # node is here, so the one missing step is a command: fail and name it, never skip.
    pytest.fail(why)


def icaljs_occurrences(*files: Path) -> dict[str, list[int]]:
    """UID → every occurrence's start as unix seconds, as ical.js computes it."""
    node = node_or_skip()
    done = subprocess.run([node, str(JS / "occurrences.mjs"), *map(str, files)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def vobject_occurrences(path: Path) -> dict[str, list[datetime]]:
    """UID → every occurrence's start as vobject computes it (aware, its own tzinfo built
    from the file's VTIMEZONE)."""
    import vobject

    found: dict[str, list[datetime]] = {}
    with path.open(encoding="utf-8") as handle:
        cal = vobject.readOne(handle)
    for event in cal.vevent_list:
        uid = event.uid.value
        if hasattr(event, "rrule"):
            found[uid] = list(event.getrruleset(addRDate=True))
        else:
            found[uid] = [event.dtstart.value]
    return found


def unix(value: datetime) -> int:
    assert value.tzinfo is not None, value
    return int(value.astimezone(UTC).timestamp())


def icaljs_properties(*files: Path) -> dict[str, dict]:
    """UID → CONFERENCE (value, value type, params), COLOR, LOCATION and URL, as ical.js
    reads them."""
    node = node_or_skip()
    done = subprocess.run([node, str(JS / "properties.mjs"), *map(str, files)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
