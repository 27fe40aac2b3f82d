"""The configuration file's JSON Schema, as data (`alliance config schema` prints it)."""

from __future__ import annotations

from typing import Any


def _secret(name: str) -> dict[str, Any]:
    return {
        f"{name}_command": {"type": "string",
                            "description": f"A command that prints the {name} on stdout."},
        f"{name}_env": {"type": "string",
                        "description": f"An environment variable holding the {name}."},
        f"{name}_keyring": {"type": "boolean",
                            "description": f"Read the {name} from the system keyring."},
    }


def _section(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "properties": properties,
            "required": required or []}


SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://designed-alliance.example/config.schema.json",
    "title": "designed-alliance user configuration",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "defaults": _section({
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
        }),
        "google": _section({
            "client_secrets": {"type": "string",
                               "description": "Path of the OAuth client (Desktop app) JSON."},
            "calendar_id": {"type": "string", "default": "primary"},
            "api_root": {"type": "string", "default": "https://www.googleapis.com/",
                         "format": "uri"},
            "access_token_command": {"type": "string",
                                     "description": "A command printing an access token, "
                                                    "instead of `alliance auth google`."},
            "max_retry_seconds": {"type": "number", "default": 120},
        }),
        "outlook": _section({
            "client_id": {"type": "string", "description": "The app registration's client id."},
            "tenant": {"type": "string", "default": "common",
                       "description": "organizations, consumers, common or a tenant id."},
            "graph_root": {"type": "string", "default": "https://graph.microsoft.com/v1.0/",
                           "format": "uri"},
            "authority_host": {"type": "string",
                               "default": "https://login.microsoftonline.com", "format": "uri"},
            "calendar_id": {"type": "string",
                            "description": "A calendar other than the default one."},
            "access_token_command": {"type": "string"},
            "max_retry_seconds": {"type": "number", "default": 120},
        }),
        "caldav": _section({
            "url": {"type": "string", "format": "uri",
                    "description": "The calendar collection's URL."},
            "username": {"type": "string"},
            "verify_tls": {"type": "boolean", "default": True},
            **_secret("password"),
        }, ["url", "username"]),
        "smtp": _section({
            "host": {"type": "string"},
            "port": {"type": "integer"},
            "security": {"enum": ["starttls", "tls", "none"], "default": "starttls"},
            "username": {"type": "string"},
            "from": {"type": "string", "description": "From header (default: the organizer)."},
            "ca_file": {"type": "string",
                        "description": "A CA certificate (PEM) to trust for this server "
                                       "instead of the system's CAs."},
            **_secret("password"),
        }, ["host"]),
    },
}
