"""Agenda and nudge messages: who gets what, what they say, and that they say it the same way
on every run (a message that changes wording daily would be updated daily)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from html.parser import HTMLParser

from designed_alliance.core.agenda import agenda, meeting_days, nudges
from designed_alliance.core.compose import REVIEW_QUESTIONS
from designed_alliance.core.items import Message
from designed_alliance.core.journal import Done, Dropped, Journal, Reading, Redated
from designed_alliance.core.load import loads

from .conftest import EXAMPLES

BASE = (EXAMPLES / "website-relaunch.toml").read_text(encoding="utf-8")
# Check-ins every Monday 09:30 from 7 Dec; reviews every 4 weeks on a check-in day (4 Jan,
# 1 Feb, 1 Mar, 29 Mar). design (ben) hard 8 Jan; copy (ana) after design, 2 weeks.
TEXT = BASE.replace('by = 2027-03-15', 'by = 2027-03-15\nowner = "ana"') + '''
[[commitments]]
id = "build"
owner = "ben"
what = "Build the homepage"
after = "copy"
takes = "1 week"
'''


def alliance(text: str = TEXT):
    return loads(text, "team.toml")


class Page(HTMLParser):
    """What a mail client would show: text, tags, table cells, bar colours."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[dict[str, str | None]] = []
        self.text: list[str] = []
        self.cells: list[list[str]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)
        self.attrs.append(dict(attrs))
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.cells.append(self._row)
            self._row = None

    def handle_data(self, data) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    @property
    def words(self) -> str:
        return " ".join("".join(self.text).split())


def test_meeting_days_put_reviews_on_check_in_days() -> None:
    days = meeting_days(alliance())
    assert list(days)[:6] == [date(2026, 12, 7), date(2026, 12, 14), date(2026, 12, 21),
                              date(2026, 12, 28), date(2027, 1, 4), date(2027, 1, 11)]
    assert [d for d, kind in days.items() if kind == "review"] == [
        date(2027, 1, 4), date(2027, 2, 1), date(2027, 3, 1), date(2027, 3, 29)]


def test_check_in_agenda() -> None:
    a = alliance()
    pages = a.measures[0]
    journal = Journal(
        readings=(Reading(pages, 4, date(2026, 12, 14)), Reading(pages, 7, date(2027, 1, 6))),
        done=(Done("design", date(2027, 1, 6), "ben", "signed off"),),
        redated=(Redated("copy", date(2027, 1, 7), date(2027, 1, 15), "short on time"),),
    )
    message = agenda(a, journal, date(2027, 1, 5))
    assert isinstance(message, Message)
    assert message.key == "agenda-2027-01-11"
    # A reply in the kickoff's conversation: its subject is the thread's, its topic the
    # first line (and what the plan names it by).
    assert message.subject == "Re: Our designed alliance: Website relaunch"
    assert message.topic == "Agenda for our check-in on Mon 11 Jan 2027: Website relaunch"
    assert message.text.splitlines()[0] == message.topic
    assert message.summary["title"] == message.topic
    assert [p.email for p in message.to] == ["ana@example.com", "ben@example.com"]
    text = message.text
    assert "Mon 11 Jan 2027, 09:30 (America/New_York), https://meet.example.com/relaunch" in text
    for question in a.checkins.questions:
        assert f"- {question}" in text
    # expected on 11 Jan: 42 * 41 / 104 = 16.56
    assert "- Pages migrated: 7 on Wed 6 Jan 2027; expected 16.56 by then (behind)" in text
    assert "Readings: 4 (14 Dec), 7 (6 Jan)" in text
    assert "- Write the homepage copy (Ana Ruiz): due Fri 15 Jan 2027" in text
    assert "Since our meeting on Mon 4 Jan 2027:" in text
    assert "- Done Wed 6 Jan 2027: Page templates for the new brand (Ben Okafor): signed off" \
        in text
    assert "- Re-dated Thu 7 Jan 2027: Write the homepage copy, now due Fri 15 Jan 2027 " \
        "(short on time)" in text
    assert "alliance review" not in text
    page = Page(message.html)
    assert "style" not in page.tags and "svg" not in page.tags
    assert all("class" not in attrs for attrs in page.attrs)
    bars = [attrs for tag, attrs in zip(page.tags, page.attrs, strict=True)
            if tag == "td" and attrs.get("bgcolor")]
    assert len(bars) == 4  # two readings, each with its expected-value bar
    assert "Pages migrated: 7 on Wed 6 Jan 2027; expected 16.56 by then behind" in page.words
    assert "Write the homepage copy (Ana Ruiz): due Fri 15 Jan 2027" in page.words


def test_overdue_commitments_and_since_the_start() -> None:
    a = alliance()
    message = agenda(a, Journal(), date(2027, 1, 12))
    assert message.key == "agenda-2027-01-18"
    assert "- Page templates for the new brand (Ben Okafor): overdue, was due Fri 8 Jan 2027" \
        in message.text
    assert "- Pages migrated: no reading yet; expected 19.38 by then" in message.text
    first = agenda(a, Journal(done=(Done("design", date(2026, 12, 3)),)), date(2026, 12, 1))
    assert first.key == "agenda-2026-12-07"
    assert "Since we started:" in first.text


def test_review_agenda_has_the_review_questions_and_the_needs_offers_table() -> None:
    a = alliance()
    journal = Journal(dropped=(Dropped("build", date(2027, 1, 30), "the agency builds it"),))
    message = agenda(a, journal, date(2027, 1, 26))
    assert message.key == "agenda-2027-02-01"
    assert message.topic.startswith("Agenda for our review on Mon 1 Feb 2027")
    # Right after the check-in: the usual 16:00 would be 22:00 for Ben in Berlin.
    assert "Mon 1 Feb 2027, 10:00 (America/New_York)" in message.text
    for question in REVIEW_QUESTIONS:
        assert f"- {question}" in message.text
    assert "- Dropped Sat 30 Jan 2027: Build the homepage (the agency builds it)" in message.text
    page = Page(message.html)
    assert ["Who", "Needs", "Offers"] in page.cells
    assert ["Ana Ruiz", "Drafts two days before each review", "Feedback within one working day"
            ] in page.cells
    assert ["Ben Okafor", "Decisions on copy within a week", "Designs for every page template"
            ] in page.cells


def test_no_agenda_after_the_last_meeting() -> None:
    assert agenda(alliance(), Journal(), date(2027, 3, 30)) is None


def test_member_text_is_escaped_in_html() -> None:
    text = TEXT.replace('name = "Ben Okafor"', 'name = "Ben <script>x()</script> Okafor"')
    a = alliance(text)
    journal = Journal(done=(Done("design", date(2027, 1, 6), "ben",
                                 '<img src=x onerror="alert(1)">'),))
    page = Page(agenda(a, journal, date(2027, 1, 5)).html)
    assert "script" not in page.tags and "img" not in page.tags
    assert "Ben <script>x()</script> Okafor" in page.words
    assert '<img src=x onerror="alert(1)">' in page.words


def test_deadline_nudge_goes_to_the_owner_only_and_names_who_waits() -> None:
    a = alliance()
    journal = Journal(done=(Done("design", date(2027, 1, 6)),))  # copy is due 20 Jan
    assert [m.key for m in nudges(a, journal, datetime(2027, 1, 17, 8, 0))] == [
        "nudge-ana-reading-2027-01-18"]  # three days before copy is due: only the reading
    (nudge,) = [m for m in nudges(a, journal, datetime(2027, 1, 18, 8, 0))
                if "reading" not in m.key]
    assert nudge.key == "nudge-ana-copy"
    assert [p.email for p in nudge.to] == ["ana@example.com"]
    assert nudge.subject == "Due Wed 20 Jan 2027: Write the homepage copy"
    assert "Write the homepage copy is due on Wed 20 Jan 2027." in nudge.text
    assert 'After you, Ben Okafor starts "Build the homepage" (due Wed 27 Jan 2027).' \
        in nudge.text
    assert "alliance done team.toml copy" in nudge.text
    page = Page(nudge.html)
    assert "After you, Ben Okafor starts “Build the homepage” (due Wed 27 Jan 2027)." \
        in page.words
    # Later in the window the same message, word for word; once done, nothing.
    again = [m for m in nudges(a, journal, datetime(2027, 1, 20, 18, 0)) if m.key == nudge.key]
    assert again and again[0].fingerprint == nudge.fingerprint
    finished = Journal(done=(*journal.done, Done("copy", date(2027, 1, 19))))
    assert "nudge-ana-copy" not in {m.key for m in nudges(a, finished, datetime(2027, 1, 20))}


def test_nudge_uses_the_alliance_time_zone_for_aware_moments() -> None:
    a = alliance()  # America/New_York; design is due Fri 8 Jan
    # 03:00 UTC on 6 Jan is still 5 Jan in New York: three days before, no nudge yet.
    early = nudges(a, Journal(), datetime(2027, 1, 6, 3, 0, tzinfo=UTC))
    assert "nudge-ben-design" not in {m.key for m in early}
    late = nudges(a, Journal(), datetime(2027, 1, 6, 6, 0, tzinfo=UTC))
    assert "nudge-ben-design" in {m.key for m in late}


def test_reading_nudge_for_a_measure_owner_with_no_reading_since_the_last_check_in() -> None:
    a = alliance()
    pages = a.measures[0]
    # Check-ins on 11 and 18 Jan; on 16 Jan the next is two days away.
    stale = Journal(readings=(Reading(pages, 5, date(2027, 1, 8)),))
    (nudge,) = [m for m in nudges(a, stale, datetime(2027, 1, 16, 9, 0)) if "reading" in m.key]
    assert nudge.key == "nudge-ana-reading-2027-01-18"
    assert [p.email for p in nudge.to] == ["ana@example.com"]
    assert "no reading since our check-in on Mon 11 Jan 2027" in nudge.text
    assert "- Pages migrated (last: 5 on Fri 8 Jan 2027)" in nudge.text
    assert 'alliance log team.toml "Pages migrated" <value>' in nudge.text
    assert "Pages migrated (last: 5 on Fri 8 Jan 2027)" in Page(nudge.html).words
    fresh = Journal(readings=(*stale.readings, Reading(pages, 9, date(2027, 1, 12))))
    assert not [m for m in nudges(a, fresh, datetime(2027, 1, 16, 9)) if "reading" in m.key]
    # Too early in the week: not yet.
    assert not [m for m in nudges(a, stale, datetime(2027, 1, 15, 9)) if "reading" in m.key]
