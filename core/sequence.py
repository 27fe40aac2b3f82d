"""Commitments in sequence ("after design, takes 2 weeks") resolved through their DAG."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from .model import Commitment


class CycleError(ValueError):
    def __init__(self, cycle: list[str]) -> None:
        super().__init__(" → ".join(cycle))
        self.cycle = cycle


def find_cycle(commitments: tuple[Commitment, ...] | list[Commitment]) -> list[str] | None:
    """The first `after` cycle as a list of ids (first id repeated at the end), or None."""
    after = {c.id: c.after for c in commitments}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    for start in after:
        path: list[str] = []
        node: str | None = start
        while node is not None and node in after and state.get(node) != 2:
            if state.get(node) == 1:
                return [*path[path.index(node):], node]
            state[node] = 1
            path.append(node)
            node = after[node]
        for visited in path:
            state[visited] = 2
    return None


def due_dates(commitments: tuple[Commitment, ...] | list[Commitment],
              done: Mapping[str, date] | None = None,
              redated: Mapping[str, date] | None = None) -> dict[str, date | None]:
    """Each commitment's due date: its own `due`, else its predecessor's plus `takes`.

    Sequences follow reality: when the journal says a predecessor was done (`done`: id →
    done date, early or late), what waits on it is due `takes` after that day instead of
    after the predecessor's planned date. A hard `due` never moves (a buster in `check` says
    when it became too tight); a re-dated commitment (`redated`: id → new due date, agreed
    in the journal) counts as a new hard due. Iterative, so a chain of any length resolves.
    """
    by_id = {c.id: c for c in commitments}
    cycle = find_cycle(list(commitments))
    if cycle:
        raise CycleError(cycle)
    done = done or {}
    redated = redated or {}
    resolved: dict[str, date | None] = {}

    for commitment in commitments:
        # Walk up the `after` chain to the first resolved (or chain-starting) commitment,
        # then resolve back down: a loop and a stack, never recursion.
        chain: list[Commitment] = []
        node: Commitment | None = commitment
        while node is not None and node.id not in resolved:
            chain.append(node)
            node = by_id.get(node.after) if node.after and node.takes is not None else None
        for item in reversed(chain):
            result = redated.get(item.id, item.due)
            if result is None and item.after and item.takes is not None:
                before = done.get(item.after) or resolved.get(item.after)
                result = before + item.takes if before else None
            resolved[item.id] = result
    return resolved


def computed_due(commitments: tuple[Commitment, ...], commitment_id: str,
                 done: Mapping[str, date] | None = None,
                 redated: Mapping[str, date] | None = None) -> date | None:
    """Predecessor's date + takes, ignoring a hard `due`: used to spot impossible sequences.

    The predecessor's date is the day it was done when the journal says so, else its due.
    """
    by_id = {c.id: c for c in commitments}
    commitment = by_id[commitment_id]
    if not commitment.after or commitment.takes is None:
        return None
    done = done or {}
    before = done.get(commitment.after) or due_dates(commitments, done, redated).get(
        commitment.after)
    return before + commitment.takes if before else None
