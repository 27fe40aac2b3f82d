"""Alliance files of a chosen size, for the size sweep and the scale tests.

Built from the team example so every section is exercised: members with needs, offers and
their own time zones, measures, sequenced commitments (`after` + `takes`) and hard dues,
channels, check-ins, review and celebration.
"""

from __future__ import annotations

ZONES = ("Europe/Lisbon", "America/Los_Angeles", "Asia/Tokyo", None)
CHAIN = 10  # commitments per `after` chain: long enough to matter, short enough to fit dates
UNOWNED = 20  # every 20th commitment has no owner, so `check` has findings to place on lines


def alliance_text(commitments: int = 4, members: int = 3, *, alliance_id: str = "bench-0001"
                  ) -> str:
    """A valid alliance file with `commitments` commitments and `members` members."""
    lines = [
        "[alliance]",
        f'id = "{alliance_id}"',
        f'title = "Bench alliance {alliance_id}"',
        'timezone = "Europe/Berlin"',
        "starts = 2027-02-01",
        "deadline = 2027-06-30",
        'review_every = "4 weeks"',
        "",
        "[goal]",
        'statement = "Ship a public beta of the mobile app to 200 testers"',
        'why = "Customers keep asking for mobile access"',
        "",
    ]
    for i in range(members):
        zone = ZONES[i % len(ZONES)]
        lines += [
            "[[members]]",
            f'id = "m{i:04d}"',
            f'name = "Member {i}"',
            f'email = "m{i:04d}@example.org"',
            *([f'timezone = "{zone}"'] if zone else []),
            f'needs = ["A working build every Friday ({i})"]',
            f'offers = ["Decisions within one working day ({i})"]',
            "",
        ]
    lines += [
        "[[measures]]",
        'name = "Beta testers onboarded"',
        "baseline = 0",
        "target = 200",
        "by = 2027-06-15",
        'owner = "m0000"',
        "",
    ]
    for i in range(commitments):
        lines += ["[[commitments]]", f'id = "c{i:05d}"', f'what = "Deliverable number {i}"']
        if i % UNOWNED:
            lines.append(f'owner = "m{i % members:04d}"')
        if i % CHAIN == 0:
            lines.append(f"due = 2027-02-{1 + i // CHAIN % 28:02d}")
        else:
            lines += [f'after = "c{i - 1:05d}"', 'takes = "1 week"']
        lines.append("")
    lines += [
        "[communication]",
        'use = [{ channel = "Slack #beta", for = "day-to-day questions", '
        'respond_within = "4 hours" }]',
        'avoid = [{ channel = "Email", why = "too slow for a small team" }]',
        "",
        "[checkins]",
        'every = "week"',
        'day = ["monday", "thursday"]',
        'time = "09:30"',
        'duration = "25 minutes"',
        'where = "https://meet.example.org/beta"',
        'questions = ["What shipped?", "What is blocked?"]',
        "",
        "[celebration]",
        'how = "Launch party"',
        'on = "deadline"',
        'time = "17:00"',
        'duration = "2 hours"',
        "",
    ]
    return "\n".join(lines)
