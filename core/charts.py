"""Pictures of progress: readings against the target line, for a terminal, a page and an email.

- `sparkline`: one line of block characters for `alliance status` on a terminal.
- `svg`: an inline SVG for the agreement page (`alliance show --format html`). The plot area is
  `PLOT_LEFT..PLOT_LEFT+PLOT_WIDTH` wide and `PLOT_TOP..PLOT_TOP+PLOT_HEIGHT` high; x runs from
  the alliance's start to the target date (or the last reading, if later), y from the lowest to
  the highest of baseline, target and readings. The target line is a dashed `<polyline
  class="trend">`, readings a `<polyline class="readings">` plus one `<circle>` each.
- `email_chart`: the same story for mail clients that strip SVG and `<style>` (Gmail): a table
  whose bars are `<td>` cells of a pixel width, inline styles only, no classes. Per reading, a
  coloured bar (green on track, red behind, slate when there is no line to compare with) and a
  thin grey bar for the value expected that day; `BAR_WIDTH` pixels is the top of the scale.

All text is escaped here: the results are `Markup`, safe to drop into autoescaped templates.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markupsafe import Markup

    from .model import Alliance
    from .progress import MeasureStatus

def escape(text: str) -> str:
    # html loads its table of 2,000 entities (~2 ms): not on the path of a setup, which only
    # formats numbers here.
    from html import escape as html_escape

    return html_escape(text)


SPARKS = "▁▂▃▄▅▆▇█"
GREEN = "#2f855a"
RED = "#c53030"
SLATE = "#4a5568"
GREY = "#a0aec0"

SVG_WIDTH, SVG_HEIGHT = 480, 170
PLOT_LEFT, PLOT_TOP, PLOT_WIDTH, PLOT_HEIGHT = 48, 12, 416, 122
BAR_WIDTH = 240  # pixels for the top of the email chart's scale
EMAIL_ROWS = 8  # readings an email shows: the most recent ones


def _markup(text: str) -> Markup:
    from markupsafe import Markup

    return Markup(text)  # built here from escaped parts only


def fmt(value: float | int) -> str:
    if isinstance(value, float):
        value = round(value, 2)
        if value.is_integer():
            return str(int(value))
    return str(value)


def _short(day: date) -> str:
    return f"{day.day} {day:%b}"


def reading_on_track(alliance: Alliance, status: MeasureStatus, value: float | int,
                     day: date) -> bool | None:
    """Was a reading on track on its own day? None when there is no line to hold it to."""
    from .progress import expected, is_on_track  # not loaded by a setup that only formats

    expect = expected(alliance, status.measure, day)
    better = status.higher_is_better
    if expect is None or better is None:
        return None
    return is_on_track(value, expect, better)


# -- terminal ------------------------------------------------------------------------------------
def sparkline(values: list[float | int], *, color: bool = False,
              on_track: bool | None = None) -> str:
    """Block characters scaled between the lowest and highest value; ANSI colour on request."""
    if not values:
        return ""
    low, high = min(values), max(values)
    span = high - low
    marks = "".join(SPARKS[0 if span == 0 else round((v - low) / span * (len(SPARKS) - 1))]
                    for v in values)
    if not color or on_track is None:
        return marks
    code = "32" if on_track else "31"
    return f"\x1b[{code}m{marks}\x1b[0m"


# -- page ----------------------------------------------------------------------------------------
class Frame:
    """Maps (day, value) to SVG coordinates for one measure's chart."""

    def __init__(self, alliance: Alliance, status: MeasureStatus) -> None:
        self.start = alliance.starts
        days = [r.on for r in status.readings]
        self.end = max([status.by, *days])
        values: list[float] = [float(r.value) for r in status.readings]
        values += [float(v) for v in (status.baseline, status.target) if v is not None]
        self.low, self.high = min(values), max(values)
        if self.low == self.high:
            self.low, self.high = self.low - 1, self.high + 1

    def x(self, day: date) -> float:
        span = max(1, (self.end - self.start).days)
        return round(PLOT_LEFT + (day - self.start).days / span * PLOT_WIDTH, 1)

    def y(self, value: float | int) -> float:
        share = (self.high - float(value)) / (self.high - self.low)
        return round(PLOT_TOP + share * PLOT_HEIGHT, 1)


def svg(alliance: Alliance, status: MeasureStatus) -> Markup:
    """One measure's readings against its target line, as an inline SVG element."""
    frame = Frame(alliance, status)
    name = status.measure.name
    unit = f" {status.measure.unit}" if status.measure.unit else ""
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{SVG_WIDTH}" '
             f'height="{SVG_HEIGHT}" viewBox="0 0 {SVG_WIDTH} {SVG_HEIGHT}" role="img" '
             f'aria-label="{escape(name)}: readings against the target line">',
             f"<title>{escape(name)}: readings against the target line</title>",
             f'<rect x="{PLOT_LEFT}" y="{PLOT_TOP}" width="{PLOT_WIDTH}" '
             f'height="{PLOT_HEIGHT}" fill="#f7fafc" stroke="#e2e8f0"/>']
    if status.baseline is not None and status.target is not None:
        trend = [(frame.x(frame.start), frame.y(status.baseline)),
                 (frame.x(status.by), frame.y(status.target))]
        if frame.end > status.by:  # after the target date the line holds the target
            trend.append((frame.x(frame.end), frame.y(status.target)))
        points = " ".join(f"{x},{y}" for x, y in trend)
        parts.append(f'<polyline class="trend" points="{points}" fill="none" stroke="{GREY}" '
                     'stroke-width="2" stroke-dasharray="6 4"/>')
        parts.append(f'<text x="{PLOT_LEFT - 4}" y="{frame.y(status.baseline) + 4}" '
                     f'text-anchor="end" font-size="11" fill="{SLATE}">'
                     f"{escape(fmt(status.baseline))}</text>")
        parts.append(f'<text x="{PLOT_LEFT - 4}" y="{frame.y(status.target) + 4}" '
                     f'text-anchor="end" font-size="11" fill="{SLATE}">'
                     f"{escape(fmt(status.target))}</text>")
    if status.readings:
        points = " ".join(f"{frame.x(r.on)},{frame.y(r.value)}" for r in status.readings)
        parts.append(f'<polyline class="readings" points="{points}" fill="none" '
                     f'stroke="{SLATE}" stroke-width="2"/>')
        for reading in status.readings:
            good = reading_on_track(alliance, status, reading.value, reading.on)
            fill = SLATE if good is None else GREEN if good else RED
            label = f"{fmt(reading.value)}{unit} on {reading.on.isoformat()}"
            parts.append(f'<circle cx="{frame.x(reading.on)}" cy="{frame.y(reading.value)}" '
                         f'r="4" fill="{fill}"><title>{escape(label)}</title></circle>')
    bottom = PLOT_TOP + PLOT_HEIGHT + 16
    parts.append(f'<text x="{PLOT_LEFT}" y="{bottom}" font-size="11" fill="{SLATE}">'
                 f"{escape(_short(frame.start))}</text>")
    parts.append(f'<text x="{PLOT_LEFT + PLOT_WIDTH}" y="{bottom}" text-anchor="end" '
                 f'font-size="11" fill="{SLATE}">{escape(_short(frame.end))}</text>')
    parts.append("</svg>")
    return _markup("".join(parts))


# -- email ---------------------------------------------------------------------------------------
def bar_scale(status: MeasureStatus, rows: list[tuple[date, float | int]]) -> tuple[float, float]:
    values = [float(v) for _, v in rows]
    values += [float(v) for v in (status.baseline, status.target) if v is not None]
    low, high = min([0.0, *values]), max([0.0, *values])
    return low, (high if high > low else low + 1)


def bar_width(value: float | int, scale: tuple[float, float]) -> int:
    low, high = scale
    return round((float(value) - low) / (high - low) * BAR_WIDTH)


def _bar(width: int, height: int, colour: str) -> str:
    if width <= 0:
        return (f'<table role="presentation" cellpadding="0" cellspacing="0" border="0">'
                f'<tr><td height="{height}" style="height:{height}px;font-size:0;'
                f'line-height:0">&nbsp;</td></tr></table>')
    return (f'<table role="presentation" cellpadding="0" cellspacing="0" border="0" '
            f'width="{width}" style="width:{width}px;border-collapse:collapse"><tr>'
            f'<td width="{width}" height="{height}" bgcolor="{colour}" '
            f'style="width:{width}px;height:{height}px;background-color:{colour};'
            f'font-size:0;line-height:0;mso-line-height-rule:exactly">&nbsp;</td>'
            f"</tr></table>")


def email_chart(alliance: Alliance, status: MeasureStatus) -> Markup:
    """Readings as bars of table cells, each with the expected value under it."""
    from .progress import expected

    readings = list(status.readings)[-EMAIL_ROWS:]
    rows = [(r.on, r.value) for r in readings]
    scale = bar_scale(status, rows)
    unit = f" {status.measure.unit}" if status.measure.unit else ""
    cell = "font-family:Arial,Helvetica,sans-serif;font-size:13px;color:#1f2933;"
    out = ['<table role="presentation" cellpadding="0" cellspacing="0" border="0" '
           'style="border-collapse:collapse;margin:4px 0 12px 0">']
    for reading in readings:
        expect = expected(alliance, status.measure, reading.on)
        good = reading_on_track(alliance, status, reading.value, reading.on)
        colour = SLATE if good is None else GREEN if good else RED
        words = f"{fmt(reading.value)}{unit}"
        if expect is not None:
            words += f" (expected {fmt(expect)})"
        expected_bar = _bar(bar_width(expect, scale), 4, GREY) if expect is not None else ""
        out.append(
            f'<tr><td width="72" style="{cell}width:72px;padding:3px 8px 3px 0;'
            f'white-space:nowrap;vertical-align:middle">{escape(_short(reading.on))}</td>'
            f'<td width="{BAR_WIDTH}" style="width:{BAR_WIDTH}px;padding:3px 0;'
            f'vertical-align:middle">{_bar(bar_width(reading.value, scale), 12, colour)}'
            f'<div style="height:2px;font-size:0;line-height:0">&nbsp;</div>{expected_bar}</td>'
            f'<td style="{cell}padding:3px 0 3px 8px;white-space:nowrap;vertical-align:middle">'
            f"{escape(words)}</td></tr>")
    if status.target is not None:
        out.append(f'<tr><td colspan="3" style="{cell}color:#616e7c;padding:3px 0">Target: '
                   f"{escape(fmt(status.target))}{escape(unit)} by "
                   f"{escape(status.by.isoformat())}. Coloured bar: the reading (green on "
                   "track, red behind); grey: where the line says we should be.</td></tr>")
    out.append("</table>")
    return _markup("".join(out))


def text_chart(status: MeasureStatus) -> str:
    """Plain words for the text part of an email and for pipes: readings in date order."""
    if not status.readings:
        return "no readings yet"
    unit = f" {status.measure.unit}" if status.measure.unit else ""
    return ", ".join(f"{fmt(r.value)}{unit} ({_short(r.on)})" for r in status.readings)
