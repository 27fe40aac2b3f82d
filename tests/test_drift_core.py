"""Drift, decided in core from what a target reported: only the fields we own count."""

from __future__ import annotations

import pytest

from designed_alliance.core.errors import NeedsForce
from designed_alliance.core.plan import Action, Change, Drift, Plan, TargetPlan
from designed_alliance.core.run import check_no_overwrite, describe_drift
from designed_alliance.core.state import Record
from designed_alliance.core.target import RemoteVersion

RECORD = Record("checkins", "id1", "fp", 0, "active", {
    "kind": "event", "title": "Check-in", "start": "2027-02-01T09:30:00+01:00",
    "end": "2027-02-01T09:55:00+01:00", "rrule": "FREQ=WEEKLY;BYDAY=MO,TH;UNTIL=20270429T2"
    "15959Z", "version": '"7"'})
SAME = {"title": "Check-in", "start": "2027-02-01T09:30", "end": "2027-02-01T09:55",
        "rrule": "UNTIL=20270429T215959Z;FREQ=WEEKLY;BYDAY=MO,TH"}


def test_a_new_etag_with_our_fields_unchanged_is_no_drift() -> None:
    # Providers bump the etag when an attendee answers; a reordered rule is the same rule.
    assert describe_drift(RECORD, RemoteVersion("checkins", '"9"', fields=SAME)) is None


def test_a_moved_series_and_a_deleted_event_are_drift() -> None:
    moved = describe_drift(RECORD, RemoteVersion("checkins", '"9"', fields={
        **SAME, "start": "2027-02-01T10:00", "title": "Sync"}))
    assert moved is not None and moved.what == "title 'Check-in' → 'Sync', start 09:30 → 10:00"
    gone = describe_drift(RECORD, RemoteVersion("checkins", deleted=True))
    assert gone == Drift("checkins", "deleted", deleted=True)


def test_a_record_without_a_version_is_not_judged() -> None:
    old = Record("checkins", "id1", "fp", 0, "active", {"start": "2027-02-01T09:30:00+01:00"})
    assert describe_drift(old, RemoteVersion("checkins", '"9"', fields={
        "start": "2027-02-01T10:00"})) is None


def test_only_writes_over_drift_need_force() -> None:
    drift = (Drift("checkins", "start 09:30 → 10:00", remote={"start": "2027-02-01T10:00"}),)
    keep = Change(Action.KEEP, "checkins", None, RECORD, 0)
    plan = TargetPlan("google", "google:primary", (keep,), drift=drift)
    assert plan.overwrites() == []
    update = Change(Action.UPDATE, "checkins", None, RECORD, 1)
    risky = Plan("a", "A", (TargetPlan("google", "google:primary", (update,), drift=drift),))
    with pytest.raises(NeedsForce, match=r"edit the alliance file.*--force"):
        check_no_overwrite(risky, force=False)
    check_no_overwrite(risky, force=True)
