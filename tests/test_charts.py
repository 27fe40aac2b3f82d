"""Charts: the SVG on the agreement page, and the email chart as a real browser draws it."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest

from designed_alliance.core import charts
from designed_alliance.core.journal import Journal, Reading, journal_path
from designed_alliance.core.load import loads
from designed_alliance.core.progress import expected, measure_status

from .conftest import EXAMPLES

SVG = "{http://www.w3.org/2000/svg}"
BASE = (EXAMPLES / "website-relaunch.toml").read_text(encoding="utf-8")
# starts 2026-12-01; Pages migrated 0 → 42 by 2027-03-15 (104 days)
READINGS = [(date(2026, 12, 14), 8), (date(2026, 12, 28), 9), (date(2027, 1, 25), 30),
            (date(2027, 2, 8), 20)]


def alliance(text: str = BASE):
    return loads(text, "team.toml")


def status_of(a, readings=READINGS, day=date(2027, 2, 10)):
    measure = a.measures[0]
    journal = Journal(readings=tuple(Reading(measure, v, d) for d, v in readings))
    return measure_status(a, journal, measure, day)


def points(text: str) -> list[tuple[float, float]]:
    return [tuple(float(n) for n in pair.split(",")) for pair in text.split()]


def test_svg_has_one_point_per_reading_at_its_date_and_value() -> None:
    a = alliance()
    root = ET.fromstring(str(charts.svg(a, status_of(a))))
    assert root.tag == f"{SVG}svg"
    circles = root.findall(f"{SVG}circle")
    assert len(circles) == len(READINGS)
    # The frame, worked out by hand: x from 1 Dec to 15 Mar (104 days), y from 0 to 42.
    for circle, (day, value) in zip(circles, READINGS, strict=True):
        x = charts.PLOT_LEFT + (day - date(2026, 12, 1)).days / 104 * charts.PLOT_WIDTH
        y = charts.PLOT_TOP + (42 - value) / 42 * charts.PLOT_HEIGHT
        assert float(circle.get("cx")) == pytest.approx(x, abs=0.06)
        assert float(circle.get("cy")) == pytest.approx(y, abs=0.06)
    lines = {p.get("class"): points(p.get("points")) for p in root.findall(f"{SVG}polyline")}
    assert lines["readings"] == [(float(c.get("cx")), float(c.get("cy"))) for c in circles]
    # The target line runs from the baseline at the start to the target at `by`.
    left, bottom = charts.PLOT_LEFT, charts.PLOT_TOP + charts.PLOT_HEIGHT
    assert lines["trend"] == [(left, bottom), (left + charts.PLOT_WIDTH, charts.PLOT_TOP)]
    # Colour says whether each reading was on track on its own day.
    fills = [c.get("fill") for c in circles]
    on_track = [v >= expected(a, a.measures[0], d) for d, v in READINGS]
    assert on_track == [True, False, True, False]
    assert fills == [charts.GREEN if ok else charts.RED for ok in on_track]


def test_svg_stretches_past_the_target_date_and_escapes_names() -> None:
    text = BASE.replace('name = "Pages migrated"', 'name = "Pages <b>migrated</b> & co"')
    a = alliance(text)
    late = [(date(2027, 1, 4), 10), (date(2027, 3, 29), 44)]  # after `by` (15 Mar)
    root = ET.fromstring(str(charts.svg(a, status_of(a, late, date(2027, 3, 30)))))
    assert root.find(f"{SVG}title").text == "Pages <b>migrated</b> & co: readings against " \
        "the target line"
    circles = root.findall(f"{SVG}circle")
    span = (date(2027, 3, 29) - date(2026, 12, 1)).days
    assert float(circles[-1].get("cx")) == charts.PLOT_LEFT + charts.PLOT_WIDTH
    trend = points(root.find(f"{SVG}polyline[@class='trend']").get("points"))
    assert len(trend) == 3 and trend[1][0] == pytest.approx(
        charts.PLOT_LEFT + 104 / span * charts.PLOT_WIDTH, abs=0.06)
    assert trend[1][1] == trend[2][1]  # the line holds the target after `by`
    # y now spans 0..44: the highest reading is at the top of the plot.
    assert float(circles[-1].get("cy")) == charts.PLOT_TOP


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.h2: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)
        self._in_h2 = tag == "h2"

    def handle_data(self, data) -> None:
        if self._in_h2:
            self.h2.append(data.strip())

    def handle_endtag(self, tag) -> None:
        if tag == "h2":
            self._in_h2 = False


def test_show_html_has_the_chart_only_when_the_journal_has_readings(cli, tmp_path: Path
                                                                     ) -> None:
    path = tmp_path / "team.toml"
    path.write_text(BASE, encoding="utf-8")
    without = _Tags()
    without.feed(cli("show", path, "--format", "html").output)
    assert "svg" not in without.tags
    assert cli("done", path, "design", "--on", "2027-01-06").exit_code == 0
    only_done = _Tags()
    only_done.feed(cli("show", path, "--format", "html").output)
    assert "svg" not in only_done.tags  # a journal without readings draws nothing
    for day, value in READINGS:
        assert cli("log", path, "pages migrated", str(value), "--on", day.isoformat()
                   ).exit_code == 0
    page = cli("show", path, "--format", "html").output
    parsed = _Tags()
    parsed.feed(page)
    assert parsed.tags.count("svg") == 1 and parsed.tags.count("circle") == len(READINGS)
    assert "Progress so far" in parsed.h2
    start = page.index("<svg")
    svg = ET.fromstring(page[start:page.index("</svg>") + len("</svg>")])
    assert len(svg.findall(f"{SVG}circle")) == len(READINGS)
    # Markdown and JSON stay as they were.
    assert "<svg" not in cli("show", path, "--format", "md").output


def test_email_chart_uses_no_classes_no_style_blocks_and_no_svg() -> None:
    a = alliance()
    html = str(charts.email_chart(a, status_of(a)))

    class Check(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.bad: list[str] = []

        def handle_starttag(self, tag, attrs) -> None:
            names = dict(attrs)
            if tag in ("style", "svg", "script", "link") or "class" in names:
                self.bad.append(tag)

    checker = Check()
    checker.feed(html)
    assert checker.bad == []


# -- the email chart, drawn by headless Chromium ------------------------------------------------
def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def decode_png(data: bytes) -> tuple[int, int, list[bytes], int]:
    """A small PNG reader (8-bit RGB/RGBA, not interlaced): width, height, rows, channels."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks += body
        pos += 12 + length
    assert header is not None
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    channels = 4 if colour == 6 else 3
    raw = zlib.decompress(chunks)
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                guess = left + up - corner
                pa, pb, pc = abs(guess - left), abs(guess - up), abs(guess - corner)
                pick = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pick) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, rows, channels


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


def bars(rows: list[bytes], width: int, channels: int, *, min_width: int = 1,
         min_height: int = 1) -> list[tuple[str, int, int, int]]:
    """Solid runs of the chart's colours: (colour, top y, left x, width), top to bottom.

    A bar is the same run (colour, left, width) on consecutive pixel rows; `min_width` and
    `min_height` leave out glyph strokes of coloured text.
    """
    colours = {name: _rgb(getattr(charts, name)) for name in ("GREEN", "RED", "GREY")}
    open_bars: dict[tuple[str, int, int], list[int]] = {}  # run → [top, last row]
    found: list[tuple[str, int, int, int, int]] = []
    for y, row in enumerate(rows):
        x = 0
        while x < width:
            pixel = tuple(row[x * channels:x * channels + 3])
            name = next((n for n, c in colours.items()
                         if all(abs(p - q) <= 3 for p, q in zip(pixel, c, strict=True))), None)
            if name is None:
                x += 1
                continue
            start = x
            while x < width and tuple(row[x * channels:x * channels + 3]) == pixel:
                x += 1
            key = (name, start, x - start)
            if key in open_bars and open_bars[key][1] == y - 1:
                open_bars[key][1] = y
            else:
                if key in open_bars:
                    top, last = open_bars[key]
                    found.append((name, top, start, x - start, last - top + 1))
                open_bars[key] = [y, y]
    for (name, start, size), (top, last) in open_bars.items():
        found.append((name, top, start, size, last - top + 1))
    return [(name, top, left, size)
            for name, top, left, size, height in sorted(found, key=lambda f: (f[1], f[2]))
            if size >= min_width and height >= min_height]


def screenshot(html: str, folder: Path, name: str, size: str = "640,320") -> Path:
    page = folder / f"{name}.html"
    page.write_text(html, encoding="utf-8")
    shot = folder / f"{name}.png"
    subprocess.run(
        [_browser(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--force-device-scale-factor=1", f"--window-size={size}",
         f"--user-data-dir={folder / 'profile'}", f"--screenshot={shot}", page.as_uri()],
        check=True, capture_output=True, timeout=120, env={**os.environ, "HOME": str(folder)})
    return shot


def wanted_bars(readings=READINGS) -> list[tuple[str, int]]:
    """Worked out by hand: the scale runs from 0 to the target 42 (the highest value), the
    line from 0 on 1 Dec to 42 on 15 Mar (104 days)."""
    wanted = []
    for day, value in readings:
        line = 42 * (day - date(2026, 12, 1)).days / 104
        wanted.append(("GREEN" if value >= line else "RED", round(value / 42 * 240)))
        wanted.append(("GREY", round(line / 42 * 240)))
    return wanted


@pytest.mark.skipif(_browser() is None, reason="needs chromium (.ci/run installs it)")
def test_email_chart_bars_as_chromium_draws_them(tmp_path: Path) -> None:
    a = alliance()
    html = ('<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
            '<body style="margin:0;background:#ffffff">'
            f"{charts.email_chart(a, status_of(a))}</body></html>")
    shot = screenshot(html, tmp_path, "chart")
    width, _, rows, channels = decode_png(shot.read_bytes())
    drawn = bars(rows, width, channels)
    assert [(name, size) for name, _, _, size in drawn] == [
        (name, pytest.approx(size, abs=1)) for name, size in wanted_bars()]
    # All bars start at the same x, right of the date column, each row below the last.
    assert {left for _, _, left, _ in drawn} == {80}  # 72 px of dates + 8 px padding
    tops = [top for _, top, _, _ in drawn]
    assert tops == sorted(tops) and len(set(tops)) == len(tops)
    assert charts.BAR_WIDTH == 240


@pytest.mark.skipif(_browser() is None, reason="needs chromium (.ci/run installs it)")
def test_agenda_email_as_chromium_draws_it(tmp_path: Path) -> None:
    from designed_alliance.core.agenda import agenda

    a = alliance()
    measure = a.measures[0]
    journal = Journal(readings=tuple(Reading(measure, v, d) for d, v in READINGS))
    message = agenda(a, journal, date(2027, 2, 9))  # the check-in on Mon 15 Feb
    assert message is not None and message.key == "agenda-2027-02-15"
    shot = screenshot(message.html, tmp_path, "agenda", size="800,1000")
    width, _, rows, channels = decode_png(shot.read_bytes())
    drawn = bars(rows, width, channels, min_width=5, min_height=3)
    assert [(name, size) for name, _, _, size in drawn] == [
        (name, pytest.approx(size, abs=1)) for name, size in wanted_bars()]
    assert len({left for _, _, left, _ in drawn}) == 1
    keep = os.environ.get("ALLIANCE_KEEP_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)


def test_decode_png_reads_a_known_image() -> None:
    """The test's own PNG reader, checked on an image built here with every filter type."""
    width, height = 3, 5
    pixels = [[(x * 40, y * 50, (x + y) * 20, 255) for x in range(width)] for y in range(height)]
    raw = b""
    for y, kind in enumerate([0, 1, 2, 3, 4]):
        row = bytes(c for p in pixels[y] for c in p)
        prev = bytes(c for p in pixels[y - 1] for c in p) if y else bytes(len(row))
        out = bytearray()
        for i, value in enumerate(row):
            left = row[i - 4] if i >= 4 else 0
            up, corner = prev[i], prev[i - 4] if i >= 4 else 0
            guess = left + up - corner
            pa, pb, pc = abs(guess - left), abs(guess - up), abs(guess - corner)
            paeth = left if pa <= pb and pa <= pc else up if pb <= pc else corner
            base = [0, left, up, (left + up) // 2, paeth][kind]
            out.append((value - base) & 0xFF)
        raw += bytes([kind]) + bytes(out)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6,
                                                                0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    w, h, rows, channels = decode_png(png)
    assert (w, h, channels) == (width, height, 4)
    assert [[tuple(r[x * 4:x * 4 + 4]) for x in range(w)] for r in rows] == pixels


def test_example_page_draws_the_example_journal(cli) -> None:
    path = EXAMPLES / "website-relaunch.toml"
    assert journal_path(path).exists()
    page = cli("show", path, "--format", "html").output
    svg = ET.fromstring(page[page.index("<svg"):page.index("</svg>") + len("</svg>")])
    assert len(svg.findall(f"{SVG}circle")) == 4
