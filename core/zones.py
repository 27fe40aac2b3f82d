"""Time-zone names: accept Region/City IANA zones (and "UTC"), refuse the rest with a suggestion.

Legacy and fixed-offset names load in zoneinfo but mislead: "EST" never has summer time,
"CET" is not anybody's city, "Etc/GMT+2" means UTC−2. An alliance written with them puts every
summer meeting an hour off, silently. So the loader refuses them and names the zone that was
most likely meant; the wizard asks `suggest_zone` for the same answer.
"""

from __future__ import annotations

import re
from functools import cache

from .errors import BadInput

# The areas of the IANA database whose zones are named after a place.
REGIONS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia",
           "Europe", "Indian", "Pacific")
# A fixed clock is sometimes really meant (a remote team agreeing on UTC): UTC stays, under
# its two common names ("Etc/UTC" is what servers and containers report as their zone, so the
# wizard's default must load).
FIXED_ALLOWED = ("UTC", "Etc/UTC")
_UTC_ALIASES = {"etc/uct", "uct", "zulu", "etc/zulu", "universal", "etc/universal",
                "z", "utc", "etc/gmt", "etc/gmt0", "etc/gmt+0", "etc/gmt-0", "gmt0", "gmt+0",
                "gmt-0", "etc/greenwich", "greenwich"}
# What people mean by the abbreviations they write (the database's own links are sometimes
# different: since 2024b "EST" is a link to America/Panama, but whoever writes EST means
# New York).
_MEANT = {
    "EST": "America/New_York", "EDT": "America/New_York", "EST5EDT": "America/New_York",
    "ET": "America/New_York", "CST": "America/Chicago", "CDT": "America/Chicago",
    "CST6CDT": "America/Chicago", "CT": "America/Chicago", "MST": "America/Denver",
    "MDT": "America/Denver", "MST7MDT": "America/Denver", "MT": "America/Denver",
    "PST": "America/Los_Angeles", "PDT": "America/Los_Angeles",
    "PST8PDT": "America/Los_Angeles", "PT": "America/Los_Angeles",
    "AKST": "America/Anchorage", "HST": "Pacific/Honolulu", "GMT": "Europe/London",
    "BST": "Europe/London", "WET": "Europe/Lisbon", "WEST": "Europe/Lisbon",
    "CET": "Europe/Berlin", "CEST": "Europe/Berlin", "MET": "Europe/Berlin",
    "MEST": "Europe/Berlin", "EET": "Europe/Athens", "EEST": "Europe/Athens",
    "MSK": "Europe/Moscow", "IST": "Asia/Kolkata", "JST": "Asia/Tokyo", "KST": "Asia/Seoul",
    "HKT": "Asia/Hong_Kong", "SGT": "Asia/Singapore", "AEST": "Australia/Sydney",
    "AEDT": "Australia/Sydney", "ACST": "Australia/Adelaide", "AWST": "Australia/Perth",
    "NZST": "Pacific/Auckland", "NZDT": "Pacific/Auckland", "BRT": "America/Sao_Paulo",
}
# Matched only when a name was refused: the patterns are compiled then, not on every run.
_OFFSET = r"^(?:etc/)?(?:utc|gmt)?\s*([+\-−])\s*(\d{1,2})(?::?(\d{2}))?$"
_ETC_GMT = r"^Etc/GMT([+-])(\d{1,2})$"


@cache
def _all_zones() -> frozenset[str]:
    import zoneinfo

    return frozenset(zoneinfo.available_timezones())


@cache
def place_zones() -> tuple[str, ...]:
    """Every Region/City zone the installed time-zone data knows, sorted."""
    return tuple(sorted(z for z in _all_zones() if z.split("/", 1)[0] in REGIONS and "/" in z))


def is_accepted(name: str) -> bool:
    return name in FIXED_ALLOWED or (name.split("/", 1)[0] in REGIONS and "/" in name
                                     and _exists(name))


@cache
def _exists(name: str) -> bool:
    """Whether the time-zone data has `name`: load that one zone (what the run does next
    anyway, and zoneinfo keeps it) instead of listing every zone on disk — listing them
    reads a few hundred files (~20 ms) on every run."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


@cache
def _zone_bytes(name: str) -> bytes | None:
    from importlib import resources

    try:
        return resources.files("tzdata").joinpath("zoneinfo", *name.split("/")).read_bytes()
    except (OSError, ModuleNotFoundError, ValueError):
        return None


def _twin(name: str) -> str | None:
    """The Region/City zone with the same rules as a legacy alias ("Japan" → "Asia/Tokyo")."""
    data = _zone_bytes(name)
    if data is None:
        return None
    twins = [z for z in place_zones() if _zone_bytes(z) == data]
    return twins[0] if twins else None


def suggest_zone(text: str) -> str | None:
    """The Region/City zone (or "UTC") most likely meant by `text`, or None if nothing is close.

    "Europe/Londn" → "Europe/London", "london" → "Europe/London", "EST" → "America/New_York",
    "Japan" → "Asia/Tokyo", "Etc/UTC" → "UTC". An accepted name is returned as it is.
    """
    name = text.strip()
    if not name or len(name) > 64:  # no zone name is that long: nothing to compare with
        return None
    if is_accepted(name):
        return name
    lowered = name.lower()
    if lowered in _UTC_ALIASES:
        return "UTC"
    if name.upper() in _MEANT:
        return _MEANT[name.upper()]
    underscored = re.sub(r"\s+", "_", name)
    by_lower = {z.lower(): z for z in place_zones()}
    if underscored.lower() in by_lower:
        return by_lower[underscored.lower()]
    if name in _all_zones():
        twin = _twin(name)
        if twin:
            return twin
    by_city: dict[str, str] = {}
    for zone in place_zones():
        by_city.setdefault(zone.rsplit("/", 1)[-1].lower(), zone)
    city = underscored.rsplit("/", 1)[-1].lower()
    if "/" not in underscored and city in by_city:
        return by_city[city]
    import difflib  # only when a name was not found as written

    close = difflib.get_close_matches(underscored.lower(), list(by_lower), n=1, cutoff=0.8)
    if close:
        return by_lower[close[0]]
    close = difflib.get_close_matches(city, list(by_city), n=1, cutoff=0.8)
    if close:
        return by_city[close[0]]
    return None


def check_zone(text: str) -> str:
    """`text` as an accepted zone name, or BadInput saying what was likely meant.

    The BadInput carries only problem and hint; the caller adds file, key and line.
    """
    name = text.strip()
    if is_accepted(name):
        return name
    suggestion = suggest_zone(name)
    meant = f'did you mean "{suggestion}"?' if suggestion else (
        'use an IANA name like "America/New_York" or "Europe/Berlin"')
    etc = re.match(_ETC_GMT, name)
    if etc:
        # POSIX sign convention: Etc/GMT+2 is two hours *behind* UTC.
        real = "−" if etc.group(1) == "+" else "+"
        raise BadInput(f"{name!r} is a fixed offset, UTC{real}{etc.group(2)} (the sign is "
                       "inverted), with no summer time",
                       hint='use the Region/City zone where the members live, like '
                       '"Europe/Berlin", or "UTC" if a fixed clock is really meant')
    if re.match(_OFFSET, name, re.I):
        raise BadInput(f"{name!r} is a fixed offset, with no summer time",
                       hint='use the Region/City zone where the members live, like '
                       '"Europe/Berlin", or "UTC" if a fixed clock is really meant')
    if suggestion == "UTC" and name.lower() in _UTC_ALIASES:
        raise BadInput(f"{name!r} is an old name for UTC",
                       hint='did you mean "UTC"? (or the Region/City zone where the members live)')
    if name in _all_zones() or name.upper() in _MEANT:
        raise BadInput(f"{name!r} is a legacy name without a region, so summer time may be "
                       "wrong", hint=f"{meant} (write the Region/City zone where the members "
                       "live)")
    raise BadInput(f"{name!r} is not a known time zone", hint=meant)

