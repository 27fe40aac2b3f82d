"""A third-party target, as someone outside the project would write one: one module, one
entry point (`designed_alliance.integrations: jsondir = tests.thirdparty.jsondir:JsonDirTarget`).

It writes each event as a JSON file into the folder of its `[jsondir]` config section and
takes part in plan, setup, teardown, doctor and the config schema through the hooks of
`Target` only — core names it nowhere.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from designed_alliance.core.config import Config
from designed_alliance.core.errors import AllianceError
from designed_alliance.core.items import Event
from designed_alliance.core.plan import Action, Change
from designed_alliance.core.target import Applied, ApplyContext, Check, Options, Remote, Target


class JsonDirTarget(Target):
    name = "jsondir"
    handles = frozenset({"event"})
    is_remote = False

    def __init__(self, config: Config, options: Options) -> None:
        super().__init__(config, options)
        section = config.section("jsondir")
        if section is None:
            raise AllianceError("the jsondir target needs a [jsondir] section with folder")
        self.folder = Path(section.text("folder", required=True)).expanduser()
        section.done()

    @classmethod
    def config_schema(cls) -> dict[str, Any] | None:
        return {"type": "object", "additionalProperties": False, "required": ["folder"],
                "properties": {"folder": {"type": "string",
                                          "description": "Where the JSON files go."}}}

    @classmethod
    def doctor_checks(cls, config: Config) -> list[Check]:
        folder = Path(config.sections["jsondir"].get("folder", "")).expanduser()
        probe = folder if folder.exists() else folder.parent
        if os.access(probe, os.W_OK):
            return [Check("ok", "jsondir", f"{folder} is writable")]
        return [Check("fail", "jsondir", f"cannot write {folder} — make it or pick another")]

    @property
    def instance(self) -> str:
        return f"jsondir:{self.folder.resolve()}"

    def _path(self, key: str) -> Path:
        return self.folder / (key.replace(":", "_") + ".json")

    def lookup(self, alliance_id: str) -> dict[str, Remote]:
        found = {}
        for path in sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []:
            data = json.loads(path.read_text())
            if data["alliance"] == alliance_id and data["status"] == "active":
                found[data["key"]] = Remote(data["key"], path.name, data["fingerprint"],
                                            data["sequence"], {"title": data["title"]})
        return found

    def write_events(self, changes: Sequence[Change], context: ApplyContext
                     ) -> Iterator[Applied]:
        self.folder.mkdir(parents=True, exist_ok=True)
        for change in changes:
            path = self._path(change.key)
            if change.action is Action.CANCEL:
                data = json.loads(path.read_text()) if path.exists() else {
                    "alliance": context.alliance.id, "key": change.key, "title": change.title,
                    "fingerprint": ""}
                data.update(status="cancelled", sequence=change.sequence)
            else:
                event = change.item
                assert isinstance(event, Event)
                data = {"alliance": context.alliance.id, "key": event.key, "title": event.title,
                        "start": event.start.isoformat(), "rrule": event.rrule,
                        "fingerprint": event.fingerprint, "sequence": change.sequence,
                        "status": "active"}
            path.write_text(json.dumps(data, indent=2))
            yield Applied(change, remote_id=path.name)
