"""Commitments in sequence ("after design, takes 2 weeks") resolved through their DAG."""

from __future__ import annotations

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


def due_dates(commitments: tuple[Commitment, ...]) -> dict[str, date | None]:
    """Each commitment's due date: its own `due`, else its predecessor's plus `takes`.

    A hard `due` wins over the computed one (the check reports when they disagree).
    """
    by_id = {c.id: c for c in commitments}
    cycle = find_cycle(commitments)
    if cycle:
        raise CycleError(cycle)
    resolved: dict[str, date | None] = {}

    def resolve(commitment_id: str) -> date | None:
        if commitment_id in resolved:
            return resolved[commitment_id]
        commitment = by_id[commitment_id]
        result = commitment.due
        if result is None and commitment.after and commitment.takes is not None:
            before = resolve(commitment.after)
            result = before + commitment.takes if before else None
        resolved[commitment_id] = result
        return result

    for commitment in commitments:
        resolve(commitment.id)
    return resolved


def computed_due(commitments: tuple[Commitment, ...], commitment_id: str) -> date | None:
    """Predecessor's due + takes, ignoring a hard `due`: used to spot impossible sequences."""
    by_id = {c.id: c for c in commitments}
    commitment = by_id[commitment_id]
    if not commitment.after or commitment.takes is None:
        return None
    before = due_dates(commitments).get(commitment.after)
    return before + commitment.takes if before else None
