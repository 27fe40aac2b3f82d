"""The interface every target (ics, eml, google, outlook, caldav, smtp, …) implements.

Like vdirsyncer's storage base class, these docstrings ARE the contract; `tests/contract.py`
runs the same tests against every implementation, and `MemoryTarget` (core/memory.py) is the
in-process fake core tests use.

Targets are found by name through the entry-point group `designed_alliance.integrations`,
so a third party can add one without touching core. A target imports its vendor SDK inside
its own methods, never at module import time of core.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from .errors import AllianceError, BadInput
from .items import Event, Item, Message, Person
from .plan import Change, TargetPlan

if TYPE_CHECKING:
    from .config import Config
    from .model import Alliance

ENTRY_POINT_GROUP = "designed_alliance.integrations"
NOTIFY_MODES = ("all", "external", "none")


@dataclass(frozen=True)
class Remote:
    """An object found on the remote side, tagged with our alliance id and item key."""

    key: str
    remote_id: str
    fingerprint: str
    sequence: int = 0
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Applied:
    """The outcome of one change. `error` is None when it was done."""

    change: Change
    remote_id: str = ""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Options:
    """What the user asked for on the command line, shared by all targets of one run."""

    out_dir: Path
    notify: str = "all"  # all | external | none: whom remote calendars notify
    send: bool = False  # really send mail (smtp); drafts otherwise
    organizer: Person | None = None
    progress: Callable[[str], None] | None = None


@dataclass
class ApplyContext:
    """Everything a target may need while applying, besides its own part of the plan."""

    alliance: Alliance
    events: Sequence[Event]  # every desired event (also the unchanged ones)
    messages: Sequence[Message]
    sequences: dict[str, int]  # key → SEQUENCE each desired item has after this run
    teardown: bool = False

    def progress(self, options: Options, text: str) -> None:
        if options.progress:
            options.progress(text)


class Target(abc.ABC):
    """One place the alliance is written to.

    Contract:

    - ``name`` is the entry-point name; ``handles`` says which item kinds the target takes
      ("event", "message"). Items of other kinds are never planned for it.
    - ``__init__(config, options)`` validates the target's own config section (raising
      `BadInput` naming the config file and key) and does no I/O beyond reading files.
    - ``instance`` names *where* this target writes (a folder, a calendar id, a mailbox): state
      is keyed by it, so the same alliance written to two places is tracked twice.
    - ``check_ready()`` verifies credentials and settings without writing anything; it raises
      `AllianceError` with one line that says what to do (e.g. "run alliance auth google").
    - ``validate(items)`` refuses, at plan time, items this target cannot represent exactly,
      raising `BadInput` that says what to change. It never approximates.
    - ``lookup(alliance_id)`` returns the objects on the remote side tagged with this alliance
      id, by item key. It is how a lost state file is rebuilt; it must find every object a
      previous ``apply`` made, including ones whose write the client never saw acknowledged.
    - ``apply(plan, context)`` executes CREATE/UPDATE/CANCEL changes (KEEP needs nothing) and
      yields one `Applied` per change, as soon as that change is durable on the remote side,
      so the caller can record it before the next one. A tuple of `Applied` is one unit that
      is recorded in a single transaction (a mail that announced several changes at once).
      A change that failed is yielded with ``error`` set; the target goes on with the
      others where that is safe.
      Applying the same plan twice must not duplicate anything: a CREATE whose object already
      exists (same key) updates it instead.
    - ``is_remote`` is True when applying reaches other people or servers (the CLI asks for
      confirmation before that).
    """

    name: ClassVar[str]
    handles: ClassVar[frozenset[str]] = frozenset({"event"})
    is_remote: ClassVar[bool] = True

    def __init__(self, config: Config, options: Options) -> None:
        self.config = config
        self.options = options

    @property
    @abc.abstractmethod
    def instance(self) -> str:
        """Where this target writes, e.g. "ics:/home/ana/alliance-out/x" or "google:primary"."""

    def check_ready(self) -> None:  # noqa: B027 - optional hook with a no-op default
        """Raise AllianceError when credentials or settings are missing. No writes."""

    def validate(self, items: Sequence[Item]) -> list[str]:
        """Refuse what cannot be represented (raise BadInput); return notes for the plan."""
        return []

    @abc.abstractmethod
    def lookup(self, alliance_id: str) -> dict[str, Remote]:
        """Tagged remote objects of this alliance, by item key."""

    @abc.abstractmethod
    def apply(self, plan: TargetPlan, context: ApplyContext
              ) -> Iterator[Applied | tuple[Applied, ...]]:
        """Execute the plan's changes, yielding one Applied per non-KEEP change."""


def available_targets() -> dict[str, Any]:
    """Entry points of the group, by name (not loaded: loading imports the adapter)."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load_target(name: str) -> type[Target]:
    found = available_targets()
    if name not in found:
        names = ", ".join(sorted(found)) or "(none installed)"
        raise BadInput(f"unknown target {name!r}", key="--to", hint=f"use one of: {names}")
    try:
        cls = found[name].load()
    except ImportError as exc:
        raise AllianceError(
            f"the {name} target could not be loaded ({exc}) — "
            f"run: pip install 'designed-alliance[{name}]'") from None
    return cls
