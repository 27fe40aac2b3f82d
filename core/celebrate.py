"""What the celebration says: what was achieved, and who did which part.

Acknowledging contributions is half of a celebration ("point out significant
contributors"): the celebration invite's description and the celebration email list each
measure's result against its target and each commitment that was done, with who did it (the
journal's `by`, else the owner) and when.
"""

from __future__ import annotations

from typing import Any

from . import charts, compose
from .items import Message, Person
from .journal import Journal
from .model import Alliance

KEY = "celebration-mail"


def achievements(alliance: Alliance, journal: Journal) -> dict[str, Any]:
    """The values both the invite and the email show (empty lists when nothing is logged)."""
    members = {m.id: m.name for m in alliance.members}
    done = []
    for commitment in alliance.commitments:
        entry = journal.done_entry(commitment.id)
        if entry is None:
            continue
        who = entry.by or commitment.owner
        done.append({"what": commitment.what, "who": members.get(who or "", "someone"),
                     "on": compose.long_date(entry.on), "note": entry.note or ""})
    measures = []
    for measure in alliance.measures:
        latest = journal.latest(measure)
        target = measure.target
        if latest is None or target is None:
            continue
        reached = None  # a target in words ("a happy team") is not judged by a number
        if isinstance(target, int | float):
            baseline = measure.baseline
            better_up = not isinstance(baseline, int | float) or target >= baseline
            reached = latest.value >= target if better_up else latest.value <= target
        measures.append({"name": measure.name, "unit": measure.unit,
                         "value": charts.fmt(latest.value),
                         "target": charts.fmt(target) if isinstance(target, int | float)
                         else str(target), "reached": reached})
    open_items = [c.what for c in alliance.commitments
                  if journal.done_entry(c.id) is None and journal.dropped_entry(c.id) is None]
    return {"done": done, "results": measures, "still_open": open_items}


def celebration_message(alliance: Alliance, journal: Journal, sender: Person) -> Message:
    """The email on the day of the celebration, to every member, in the kickoff's thread."""
    values = {"title": alliance.title, "goal": alliance.goal, "sender": sender,
              "celebration": alliance.celebration, **achievements(alliance, journal)}
    from .messages import in_thread

    return in_thread(Message(
        alliance_id=alliance.id, key=KEY,
        subject=f"We celebrate today: {alliance.title}",
        text=compose.render("celebration_mail.txt.j2", None, **values),
        html=compose.render("celebration_mail.html.j2", None, **values),
        sender=sender, to=tuple(Person(m.name, m.email) for m in alliance.members),
    ), alliance)
