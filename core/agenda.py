"""What to say, and to whom, between edits: the agenda of the next meeting and the nudges.

Pure functions: (alliance, journal, day or moment) → `Message` values with stable keys. Nothing
here sends anything; the lead's plan/apply delivers them and its state keeps them from going
out twice. Templates live in `templates/` (text + autoescaped HTML, inline styles only: the
agenda goes to mail clients that strip `<style>` and SVG).

- `agenda(alliance, journal, on)`: for the next check-in or review on or after `on` (a review
  on a check-in day makes that meeting a review): the agreed questions, each measure's latest
  reading against the value expected that day with a chart, overdue and due-soon commitments
  with their owners, what was done (or dropped, or re-dated) since the meeting before, and for a
  review its questions and the needs/offers table. Key `agenda-YYYY-MM-DD`.
- `nudges(alliance, journal, now, days_before=2)`: within `days_before` days of a member's own
  due date, a note to that member only, naming the item, its date and who waits on it (key
  `nudge-<member>-<commitment>`); within `days_before` days of a check-in, a note to each
  measure owner who has logged no reading since the check-in before it (key
  `nudge-<member>-reading-<check-in date>`). The words never say "in 2 days": a message must
  read the same on every run that composes it, or the plan would keep updating it.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from . import charts, compose
from .items import VIDEO_SERVICES, Message, Person
from .journal import Journal
from .model import Alliance, Member
from .progress import CommitmentStatus, Status, status


def meeting_days(alliance: Alliance) -> dict[date, str]:
    """Every check-in and review day → "check-in" or "review" (a review wins a shared day)."""
    from dateutil.rrule import rrulestr

    from .schedule import meeting_series

    days: dict[date, str] = {}
    zone = ZoneInfo(alliance.timezone)
    # Only the times are needed: nothing is rendered (remind runs this every hour).
    # Check-ins first, so a review on the same day overwrites it.
    for key, start, _, rrule in sorted(meeting_series(alliance), key=lambda s: s[0] != "checkins"):
        for moment in rrulestr(rrule, dtstart=start):
            day = moment.astimezone(zone).date()
            if day > alliance.deadline:
                break
            days[day] = "review" if key == "review" else "check-in"
    return dict(sorted(days.items()))


def _person(member: Member) -> Person:
    return Person(member.name, member.email)


def _sender(alliance: Alliance) -> Person:
    from .schedule import organizer_for

    return organizer_for(alliance)


def _commitment_row(alliance: Alliance, item: CommitmentStatus) -> dict:
    return {"id": item.commitment.id, "what": item.commitment.what,
            "owner": item.owner.name if item.owner else "no owner",
            "due": compose.long_date(item.due) if item.due else "", "state": item.state}


def _measure_rows(alliance: Alliance, result: Status) -> list[dict]:
    rows = []
    for m in result.measures:
        latest = m.latest
        rows.append({
            "name": m.measure.name, "unit": m.measure.unit,
            "latest": charts.fmt(latest.value) if latest else None,
            "latest_on": compose.long_date(latest.on) if latest else "",
            "expected": charts.fmt(m.expected) if m.expected is not None else None,
            "target": charts.fmt(m.target) if m.target is not None else None,
            "by": compose.long_date(m.by),
            "on_track": m.on_track,
            "owner": alliance.member(m.measure.owner).name if m.measure.owner else "",
            "chart_html": charts.email_chart(alliance, m) if m.readings else "",
            "chart_text": charts.text_chart(m),
        })
    return rows


def _since(alliance: Alliance, journal: Journal, after: date, until: date) -> list[str]:
    """What happened to commitments in (after, until], as sentences in date order."""
    member = {m.id: m.name for m in alliance.members}
    happened: list[tuple[date, int, str]] = []
    for entry in journal.done:
        if after < entry.on <= until:
            what = alliance.commitment(entry.commitment).what
            who = f" ({member[entry.by]})" if entry.by else ""
            note = f": {entry.note}" if entry.note else ""
            happened.append((entry.on, entry.line or 0,
                             f"Done {compose.long_date(entry.on)}: {what}{who}{note}"))
    for dropped in journal.dropped:
        if after < dropped.on <= until:
            what = alliance.commitment(dropped.commitment).what
            happened.append((dropped.on, dropped.line or 0, f"Dropped "
                             f"{compose.long_date(dropped.on)}: {what} ({dropped.reason})"))
    for moved in journal.redated:
        if after < moved.on <= until:
            what = alliance.commitment(moved.commitment).what
            happened.append((moved.on, moved.line or 0,
                             f"Re-dated {compose.long_date(moved.on)}: {what}, now due "
                             f"{compose.long_date(moved.due)} ({moved.reason})"))
    return [text for _, _, text in sorted(happened)]


def agenda(alliance: Alliance, journal: Journal, on: date,
           links: dict[str, str] | None = None) -> Message | None:
    """The agenda of the next check-in (or review) on or after `on`; None when none is left.
    `links`: item key → the join link a calendar service made for it (as setup recorded
    it), shown instead of "the link is in the invitation"."""
    days = meeting_days(alliance)
    upcoming = [d for d in days if d >= on]
    if not upcoming:
        return None
    day = upcoming[0]
    kind = days[day]
    earlier = [d for d in days if d < day]
    previous = earlier[-1] if earlier else alliance.starts - timedelta(days=1)
    result = status(alliance, journal, day)
    checkins = alliance.checkins
    if kind == "review":
        from .schedule import review_time

        at: time | None = review_time(alliance)
    else:
        at = checkins.time if checkins else None
    review = None
    if kind == "review" and alliance.review is not None:
        review = {"questions": list(alliance.review.questions) or list(compose.REVIEW_QUESTIONS),
                  "members": [{"name": m.name, "needs": list(m.needs), "offers": list(m.offers)}
                              for m in alliance.members]}
    values = {
        "title": alliance.title, "goal": alliance.goal.statement, "kind": kind,
        "day": compose.long_date(day), "time": at.strftime("%H:%M") if at else "",
        "timezone": alliance.timezone, "where": checkins.where if checkins else "",
        "video": _video_link(alliance, kind, links),
        "questions": list(checkins.questions) if checkins else [],
        "measures": _measure_rows(alliance, result),
        "attention": [_commitment_row(alliance, c) for c in result.commitments
                      if c.state in ("overdue", "due-soon")],
        "since": _since(alliance, journal, previous, day),
        "since_day": compose.long_date(previous) if earlier else "",
        "review": review,
    }
    sender = _sender(alliance)
    from .messages import in_thread

    # To every member: a reply in the kickoff's conversation ("Re: <kickoff subject>").
    return in_thread(Message(
        alliance_id=alliance.id, key=f"agenda-{day.isoformat()}",
        subject=f"Agenda for our {kind} on {compose.long_date(day)}: {alliance.title}",
        text=compose.render("agenda.txt.j2", None, **values),
        html=compose.render("agenda.html.j2", None, **values),
        sender=sender, to=tuple(_person(m) for m in alliance.members),
    ), alliance)


def _video_link(alliance: Alliance, kind: str, links: dict[str, str] | None = None) -> str:
    """How to join this meeting: its URL, the link the service made (recorded), or the
    service that makes the link."""
    checkins = alliance.checkins
    video = checkins.video if checkins else ""
    key = "checkins"
    if kind == "review" and alliance.review is not None and alliance.review.video:
        video, key = alliance.review.video, "review"
    made = (links or {}).get(key)
    return made if made and video in VIDEO_SERVICES else video


def _local_day(alliance: Alliance, now: datetime) -> date:
    if now.tzinfo is None:
        return now.date()  # a naive moment is taken as the alliance's own local time
    return now.astimezone(ZoneInfo(alliance.timezone)).date()


def nudges(alliance: Alliance, journal: Journal, now: datetime,
           days_before: int = 2) -> list[Message]:
    """Reminders due at `now`: each to one member, about that member's own part."""
    today = _local_day(alliance, now)
    result = status(alliance, journal, today)
    by_id = {c.commitment.id: c for c in result.commitments}
    sender = _sender(alliance)
    messages: list[Message] = []
    for item in result.commitments:
        if (item.owner is None or item.due is None or item.state not in ("open", "due-soon")
                or not 0 <= (item.due - today).days <= days_before):
            continue
        waiting = []
        for other in alliance.commitments:
            if other.after != item.commitment.id:
                continue
            next_status = by_id[other.id]
            if next_status.state in ("done", "late", "dropped"):
                continue
            who = ("you" if next_status.owner == item.owner
                   else next_status.owner.name if next_status.owner else "someone")
            waiting.append({"who": who, "what": other.what,
                            "due": compose.long_date(next_status.due)
                            if next_status.due else ""})
        values = {"title": alliance.title, "name": item.owner.name, "what": item.commitment.what,
                  "due": compose.long_date(item.due), "waiting": waiting,
                  "hard": item.commitment.due is not None, "reading": None,
                  "commitment_id": item.commitment.id,
                  "file": alliance.source.name if alliance.source else "FILE"}
        messages.append(Message(
            alliance_id=alliance.id, key=f"nudge-{item.owner.id}-{item.commitment.id}",
            subject=f"Due {compose.long_date(item.due)}: {item.commitment.what}",
            text=compose.render("nudge.txt.j2", None, **values),
            html=compose.render("nudge.html.j2", None, **values),
            sender=sender, to=(_person(item.owner),),
        ))
    messages.extend(_reading_nudges(alliance, journal, today, days_before, sender))
    return sorted(messages, key=lambda m: m.key)


def _reading_nudges(alliance: Alliance, journal: Journal, today: date, days_before: int,
                    sender: Person) -> list[Message]:
    from .progress import checkin_days

    days = checkin_days(alliance)
    upcoming = [d for d in days if d >= today]
    if not upcoming or (upcoming[0] - today).days > days_before:
        return []
    meeting = upcoming[0]
    earlier = [d for d in days if d < meeting]
    since = earlier[-1] if earlier else alliance.starts - timedelta(days=1)
    then = journal.as_of(today)
    wanted: dict[str, list[dict]] = {}
    for measure in alliance.measures:
        if measure.owner is None:
            continue
        if any(r.on > since for r in then.readings_for(measure)):
            continue
        latest = then.latest(measure)
        wanted.setdefault(measure.owner, []).append({
            "name": measure.name, "unit": measure.unit,
            "latest": charts.fmt(latest.value) if latest else None,
            "latest_on": compose.long_date(latest.on) if latest else "",
            "ref": measure.id or measure.name})
    messages = []
    for member_id, measures in wanted.items():
        member = alliance.member(member_id)
        values = {"title": alliance.title, "name": member.name,
                  "reading": {"measures": measures, "checkin": compose.long_date(meeting),
                              "since": compose.long_date(since) if earlier else "",
                              "file": alliance.source.name if alliance.source else "FILE"}}
        messages.append(Message(
            alliance_id=alliance.id, key=f"nudge-{member_id}-reading-{meeting.isoformat()}",
            subject=f"A reading before our check-in on {compose.long_date(meeting)}: "
                    f"{alliance.title}",
            text=compose.render("nudge.txt.j2", None, **values),
            html=compose.render("nudge.html.j2", None, **values),
            sender=sender, to=(_person(member),),
        ))
    return messages
