"""The configuration file's JSON Schema (`alliance config schema` prints it).

Core describes `[defaults]`; each installed target describes its own section through its
`config_schema` hook, so a third-party target's section is described the same way.
"""

from __future__ import annotations

from typing import Any

DEFAULTS: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": [], "properties": {
        "targets": {"type": "array", "items": {"type": "string"},
                    "default": ["ics", "eml"],
                    "description": "Targets `alliance setup` writes when --to is not given."},
        "output_dir": {"type": "string",
                       "description": "Folder for ics/eml output; <output_dir>/<alliance id>."},
        "organizer": {"type": "string",
                      "description": "Member id or email of the organizer (default: the "
                                     "first member)."},
        "notify": {"enum": ["all", "external", "none"], "default": "all",
                   "description": "Whom remote calendars notify of changes."},
    }}


def schema() -> dict[str, Any]:
    from .target import loadable_targets

    properties: dict[str, Any] = {"defaults": DEFAULTS}
    for name, cls in loadable_targets().items():
        fragment = cls.config_schema()
        if fragment is not None:
            properties[name] = fragment
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://designed-alliance.example/config.schema.json",
        "title": "designed-alliance user configuration",
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
    }
