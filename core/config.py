"""The user configuration: defaults and per-target sections. Secrets only as references.

Read from `--config PATH`, else `config.toml` in the user config dir (core/userdirs.py). A missing
default file is fine (everything has a default); a missing `--config` file is an error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import Any

from designed_alliance.core.records import dataclass

from .errors import BadInput
from .locate import LineIndex
from .reader import Reader

SECRET_KEYS = ("password", "token", "secret", "access_token", "client_secret_value")
CORE_SECTIONS = ("defaults",)  # every other section belongs to an installed target


def default_path() -> Path:
    override = os.environ.get("ALLIANCE_CONFIG")
    if override:
        return Path(override)
    from designed_alliance.core import userdirs

    return userdirs.config() / "config.toml"


def config_dir(config: Config) -> Path:
    """Where tokens and other per-user files go (next to the config file)."""
    if config.path is not None:
        return config.path.parent
    return default_path().parent


@dataclass(frozen=True)
class Defaults:
    """The `[defaults]` table: targets, output folder, organizer and who is notified."""

    targets: tuple[str, ...] = ("ics", "eml")
    output_dir: Path | None = None
    organizer: str | None = None
    notify: str = "all"


@dataclass(frozen=True)
class Config:
    """The configuration file as read: `[defaults]`, every other section, each key's line."""

    path: Path | None = None
    defaults: Defaults = field(default_factory=Defaults)
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    lines: Mapping[str, int] = field(default_factory=dict)

    def section(self, name: str) -> Reader | None:
        """A strict reader over `[name]`, or None when the section is absent."""
        if name not in self.sections:
            return None
        return Reader(self.sections[name], name, self.path or Path("<config>"), self.lines)

    def require(self, name: str, target: str, then: str | None = None) -> Reader:
        reader = self.section(name)
        if reader is None:
            raise self.missing_section(name, target, then)
        return reader

    def missing_section(self, name: str, target: str, then: str | None = None) -> BadInput:
        """The one message for an absent [name]: the file it belongs in, the command that
        writes it (installed users have no config.example.toml to copy), what comes next."""
        where = self.path or default_path()
        return BadInput(f"the {target} target needs a [{name}] section", file=where,
                        hint=f"run: {init_command(self.path, name)}, then fill it in"
                        + (f" and {then}" if then else ""))


def load_config(path: Path | None = None, *, explicit: bool = False) -> Config:
    if path is None:
        path = default_path()
        explicit = False
    if not path.exists():
        if explicit:
            raise BadInput("config file not found", file=path,
                           hint=f"check the path, or create it: {init_command(path)}")
        return Config(path=None)
    from .load import parse_toml

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot be read ({exc})", file=path, hint="check the file") from None
    data = parse_toml(text, path)
    lines = LineIndex(text)
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


# -- the example configuration, shipped in the package ---------------------------------------

def example_text() -> str:
    """The commented example configuration (package data, so pip/pipx users have it too)."""
    from importlib.resources import files

    return files("designed_alliance.templates").joinpath("config.example.toml").read_text(
        encoding="utf-8")


def example_sections(text: str | None = None) -> tuple[str, dict[str, str]]:
    """The example split into its header comment and each `[section]` with its comments."""
    import re

    text = example_text() if text is None else text
    starts = [m.start() for m in re.finditer(r"^\[([a-z_]+)\]\s*$", text, re.M)]
    header = text[:starts[0]] if starts else text
    sections = {}
    for begin, end in zip(starts, [*starts[1:], len(text)], strict=True):
        chunk = text[begin:end]
        name = chunk[1:chunk.index("]")]
        sections[name] = chunk.rstrip("\n") + "\n"
    return header, sections


def init_command(path: Path | None, only: str | None = None) -> str:
    """The command that writes the example to `path` (the default path needs no --config)."""
    import shlex

    where = "" if path is None or path == default_path() else f"--config {shlex.quote(str(path))} "
    return f"alliance {where}config init" + (f" --only {only}" if only else "")


def init_config(path: Path | None, *, only: str | None = None) -> str:
    """Write the example to the config path (0600). Never overwrites: with `only`, a missing
    section is appended to an existing file; a section already there is refused."""
    from .errors import AllianceError

    path = path or default_path()
    header, sections = example_sections()
    if only is not None and only not in sections:
        raise BadInput(f"the example has no [{only}] section", key="--only",
                       hint="use one of: " + ", ".join(s for s in sections if s != "defaults"))
    if path.exists():
        if only is None:
            raise AllianceError(f"{path} already exists; nothing was written — edit it, or add "
                                f"one section with: {init_command(path)} --only "
                                "google|outlook|caldav|smtp")
        current = load_config(path, explicit=True)
        if only in current.sections or (only == "defaults" and current.defaults != Defaults()):
            raise AllianceError(f"{path} already has a [{only}] section; nothing was written — "
                                "edit it there")
        existing = path.read_text(encoding="utf-8")
        with path.open("a", encoding="utf-8") as handle:
            handle.write(("" if existing.endswith("\n") else "\n") + "\n" + sections[only])
        os.chmod(path, 0o600)
        return f"Added [{only}] to {path}: replace the example values, then run alliance doctor"
    text = header + "".join(
        sections[name] + "\n" for name in sections if only is None or name in ("defaults", only))
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # O_EXCL: two runs at once must not both write; 0600 from the start, not chmod after.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text.rstrip("\n") + "\n")
    return f"Wrote {path}: replace the example values, then run alliance doctor"


ZERO_ID = "00000000-0000-0000-0000-000000000000"
EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net")


def placeholders(config: Config, name: str) -> list[str]:
    """Values in [name] still copied from the example: they can only fail later, and vaguely."""
    found = []
    for key, value in config.sections.get(name, {}).items():
        if not isinstance(value, str):
            continue
        if value.strip("{}") == ZERO_ID or (key.endswith("_id") and set(value) <= set("0-")):
            found.append(f"{key} is the example's all-zero placeholder")
            continue
        host = value.rsplit("@", 1)[-1] if "@" in value and "/" not in value else value
        if key in ("url", "host", "username", "from") and any(
                domain in host.lower() for domain in EXAMPLE_DOMAINS):
            found.append(f"{key} is the example's {value!r}")
    return found
