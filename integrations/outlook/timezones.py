"""IANA → Windows time zone names, which is what Outlook and Exchange store.

The mapping is data (windows_zones.json), generated from the Unicode CLDR windowsZones table
(as shipped by tzlocal's windows_tz module); regenerate it rather than editing by hand.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from designed_alliance.core.errors import BadInput

ALIASES = {"UTC": "UTC", "Etc/UTC": "UTC", "GMT": "UTC", "Etc/GMT": "UTC", "Z": "UTC"}


@cache
def table() -> dict[str, str]:
    text = resources.files(__package__).joinpath("windows_zones.json").read_text("utf-8")
    return json.loads(text)


def iana_to_windows(name: str, *, key: str = "alliance.timezone") -> str:
    if name in ALIASES:
        return ALIASES[name]
    found = table().get(name)
    if found:
        return found
    raise BadInput(f"time zone {name!r} has no Outlook (Windows) equivalent", key=key,
                   hint="use a canonical IANA zone such as America/New_York or Europe/Berlin")
