"""`alliance show`: the agreement as Markdown, HTML or JSON."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

from .. import compose
from ..config import Config
from ..durations import Cadence, describe_duration
from ..load import load


def _plain(value: Any) -> Any:
    if isinstance(value, Cadence):
        return value.text
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.name != "source"}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return describe_duration(value)
    return value


def run(file: Path, fmt: str, config: Config | None = None) -> str:
    alliance = load(file)
    if fmt == "json":
        return json.dumps(_plain(alliance), indent=2, ensure_ascii=False) + "\n"
    # The join links setup recorded (Meet, Teams), from the state: no request.
    from .progress import meeting_links_offline

    links = meeting_links_offline(alliance, config)
    if fmt == "html":
        return compose.render("agreement.html.j2", compose.Context(alliance),
                              progress_charts=_charts(alliance), links=links)
    return compose.render("agreement.md.j2", compose.Context(alliance), links=links)


def _charts(alliance: Any) -> list[dict[str, Any]]:
    """Per measure with readings, its SVG against the target line (none without a journal)."""
    from .. import charts
    from ..journal import load_journal
    from ..progress import measure_status

    journal = load_journal(alliance)
    if not journal.has_readings:
        return []
    day = max(r.on for r in journal.readings)
    out = []
    for measure in alliance.measures:
        status = measure_status(alliance, journal, measure, day)
        if status.readings:
            out.append({"name": measure.name, "svg": charts.svg(alliance, status),
                        "readings": charts.text_chart(status)})
    return out
