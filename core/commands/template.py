"""`alliance template`: a blank, commented alliance file that loads once filled in."""

from __future__ import annotations

import secrets
from datetime import date, timedelta

from .. import compose


def slugify(text: str, limit: int, fallback: str) -> str:
    """Lower-case ASCII words joined by '-': "Zoë's Book" → "zoe-s-book"."""
    import re
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:limit] or fallback


def new_id(title: str = "alliance") -> str:
    return f"{slugify(title, 40, 'alliance')}-{secrets.token_hex(2)}"


def run(today: date | None = None) -> str:
    from .init import local_zone

    today = today or date.today()
    starts = today + timedelta(days=(7 - today.weekday()) % 7 or 7)  # next Monday
    deadline = starts + timedelta(weeks=12)
    members = [
        {"id": "me", "name": "<Your name>", "email": "<you@example.com>",
         "need": "<what you need from the others>", "offer": "<what you offer in return>"},
        {"id": "partner", "name": "<Their name>", "email": "<them@example.com>",
         "need": "<what they need from you>", "offer": "<what they offer in return>"},
    ]
    return compose.render(
        "alliance.toml.j2", filename="alliance.toml", id=new_id(),
        # The machine's zone is right far more often than a placeholder: one fix less.
        title="<What you call this alliance>", timezone=local_zone(),
        starts=starts.isoformat(), deadline=deadline.isoformat(),
        goal="<The goal, in one sentence>", why="<Why it matters to you both>",
        members=members, measure="<What you count>", inspect="<How and when you look at it>",
        first={"id": "first-step", "what": "<The first thing that must be done>"},
        first_due=(starts + timedelta(weeks=3)).isoformat(),
        second={"id": "next-step", "what": "<What can start once it is done>"},
        channel="<Chat tool>", channel_for="<day-to-day questions>",
        avoid="<Channel you will not use>", avoid_why="<why not>",
        where="<Video link or room>", celebrate="<How you will celebrate>",
    )


def run_full(today: date | None = None) -> str:
    """Every key the loader reads, generated from it (core/schema.py), so it cannot drift."""
    from ..schema import full_template
    from .init import local_zone

    today = today or date.today()
    starts = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    return full_template({"id": new_id(), "timezone": local_zone(),
                          "starts": starts.isoformat(),
                          "deadline": (starts + timedelta(weeks=12)).isoformat()})
