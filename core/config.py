"""The user configuration: defaults and per-target sections. Secrets only as references.

Read from `--config PATH`, else `config.toml` in the platformdirs user config dir. A missing
default file is fine (everything has a default); a missing `--config` file is an error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import BadInput
from .locate import index_lines
from .reader import Reader

SECRET_KEYS = ("password", "token", "secret", "access_token", "client_secret_value")
CORE_SECTIONS = ("defaults",)  # every other section belongs to an installed target


def default_path() -> Path:
    override = os.environ.get("ALLIANCE_CONFIG")
    if override:
        return Path(override)
    from platformdirs import user_config_path

    return user_config_path("designed-alliance") / "config.toml"


def config_dir(config: Config) -> Path:
    """Where tokens and other per-user files go (next to the config file)."""
    if config.path is not None:
        return config.path.parent
    return default_path().parent


@dataclass(frozen=True)
class Defaults:
    targets: tuple[str, ...] = ("ics", "eml")
    output_dir: Path | None = None
    organizer: str | None = None
    notify: str = "all"


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    defaults: Defaults = field(default_factory=Defaults)
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)

    def section(self, name: str) -> Reader | None:
        """A strict reader over `[name]`, or None when the section is absent."""
        if name not in self.sections:
            return None
        return Reader(self.sections[name], name, self.path or Path("<config>"), self.lines)

    def require(self, name: str, target: str) -> Reader:
        reader = self.section(name)
        if reader is None:
            where = self.path or default_path()
            raise BadInput(f"the {target} target needs a [{name}] section", file=where,
                           hint=f"copy the [{name}] section from config.example.toml into "
                           f"{where}")
        return reader


def load_config(path: Path | None = None, *, explicit: bool = False) -> Config:
    if path is None:
        path = default_path()
        explicit = False
    if not path.exists():
        if explicit:
            raise BadInput("config file not found", file=path,
                           hint="check the path, or copy config.example.toml there")
        return Config(path=None)
    from .load import parse_toml

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot be read ({exc})", file=path, hint="check the file") from None
    data = parse_toml(text, path)
    lines = index_lines(text)
    root = Reader(data, "", path, lines)
    defaults = Defaults()
    head = root.table("defaults")
    if head is not None:
        from .target import NOTIFY_MODES

        targets = head.texts("targets") or defaults.targets
        out = head.text("output_dir")
        notify = head.text("notify") or "all"
        if notify not in NOTIFY_MODES:
            raise head.fail("notify", f"{notify!r} is not a notify mode",
                            "use all, external or none")
        defaults = Defaults(targets=targets,
                            output_dir=Path(out).expanduser() if out else None,
                            organizer=head.text("organizer") or None, notify=notify)
        head.done()
    sections: dict[str, dict[str, Any]] = {}
    for name, value in data.items():
        if name == "defaults":
            continue
        if not isinstance(value, dict):
            raise root.fail(name, "must be a table", f"write it as a [{name}] section")
        if name not in CORE_SECTIONS and not _is_installed_target(name):
            from .target import available_targets

            known = [*CORE_SECTIONS, *sorted(available_targets())]
            raise root.fail(name, "is not a known section",
                            "known sections: " + ", ".join(known))
        for key, item in value.items():
            if key in SECRET_KEYS and isinstance(item, str):
                raise root.fail(f"{name}.{key}", "holds a secret in plain text",
                                f"use {key}_command (a command that prints it) or "
                                f"{key}_env (an environment variable) instead")
        root.raw(name)
        sections[name] = value
    return Config(path=path, defaults=defaults, sections=sections, lines=lines)


def _is_installed_target(name: str) -> bool:
    from .target import available_targets

    return name in available_targets()
