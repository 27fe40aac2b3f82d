"""What a new user meets first: the shipped config, colours, Ctrl-C, install hints, kickoff."""

from __future__ import annotations

import email
import email.policy
import os
import stat
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from designed_alliance.core.cli import cli as command
from designed_alliance.core.config import load_config

from .conftest import ROOT, example


def config_file() -> Path:
    return Path(os.environ["XDG_CONFIG_HOME"]) / "designed-alliance" / "config.toml"


# -- the configuration for people who installed the package ---------------------------------

def test_config_path_prints_the_platform_path(cli) -> None:
    result = cli("config", "path")
    assert result.exit_code == 0 and Path(result.output.strip()) == config_file()


def test_config_init_writes_the_shipped_example_0600_and_never_overwrites(cli) -> None:
    result = cli("config", "init")
    assert result.exit_code == 0, result.output
    path = config_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    written = tomllib.loads(path.read_text())
    shipped = tomllib.loads((ROOT / "templates" / "config.example.toml").read_text())
    assert written == shipped
    assert "# " in path.read_text()  # the comments explain each section
    load_config(path, explicit=True)  # our loader accepts it too
    before = path.read_text()
    again = cli("config", "init")
    assert again.exit_code == 1 and "already exists" in again.stderr
    assert path.read_text() == before


def test_config_init_only_one_section_then_adds_another(cli, tmp_path: Path) -> None:
    path = tmp_path / "conf" / "alliance.toml"
    result = cli("--config", path, "config", "init", "--only", "caldav")
    assert result.exit_code == 0, result.output
    assert set(tomllib.loads(path.read_text())) == {"defaults", "caldav"}
    assert cli("--config", path, "config", "init", "--only", "smtp").exit_code == 0
    assert set(tomllib.loads(path.read_text())) == {"defaults", "caldav", "smtp"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    refused = cli("--config", path, "config", "init", "--only", "caldav")
    assert refused.exit_code == 1 and "already has a [caldav] section" in refused.stderr


def test_a_missing_section_names_the_path_and_the_command(cli) -> None:
    result = cli("auth", "google")  # reads its section through Config.require
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert str(config_file()) in line and "alliance config init --only google" in line


def test_a_missing_section_of_an_explicit_config_says_config(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text("[defaults]\n")
    problem = load_config(path, explicit=True).missing_section(
        "smtp", "smtp", then="add --send")
    assert str(path) in str(problem) and problem.exit_code == 2
    assert f"alliance --config {path} config init --only smtp" in str(problem)
    assert str(problem).endswith("add --send")


def test_doctor_fails_on_the_examples_placeholders(cli) -> None:
    import json

    assert cli("config", "init", "--only", "outlook").exit_code == 0
    result = cli("doctor", "--json")
    assert result.exit_code == 1
    checks = [c for c in json.loads(result.output)["checks"] if c["name"] == "outlook"]
    assert checks and checks[0]["status"] == "fail"
    assert "client_id is the example's all-zero placeholder" in checks[0]["detail"]


def test_doctor_does_not_reach_example_hosts(cli) -> None:
    import json

    assert cli("config", "init", "--only", "caldav").exit_code == 0
    # The loopback-only fixture would turn a connection to caldav.example.com into a failure
    # "cannot reach"; a placeholder check says what is wrong instead.
    checks = json.loads(cli("doctor", "--json").output)["checks"]
    caldav = [c for c in checks if c["name"].startswith("caldav")]
    assert caldav and all("cannot reach" not in c["detail"] for c in caldav)
    assert any("url is the example's" in c["detail"] for c in caldav)


# -- colours, Ctrl-C, init without a terminal ---------------------------------------------

@pytest.mark.parametrize(("no_color", "coloured"), [(None, True), ("1", False)])
def test_no_color_is_honoured_on_a_terminal(no_color: str | None, coloured: bool,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    if no_color is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color)
    # color=True: CliRunner behaves as a terminal would (styles are not stripped).
    result = CliRunner().invoke(command, ["doctor"], color=True)
    assert ("\x1b[" in result.output) is coloured


def test_ctrl_c_at_a_prompt_is_130_and_one_line(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    import click

    def interrupted(*args: object, **kwargs: object) -> str:
        raise KeyboardInterrupt

    # click turns Ctrl-C in input() into Abort ("Aborted!", exit 1); we keep 130.
    monkeypatch.setattr(click.termui, "visible_prompt_func", interrupted)
    runner = CliRunner()
    monkeypatch.setattr(runner, "isolation", _keep_prompt(runner.isolation))
    result = runner.invoke(command, ["init", str(tmp_path / "a.toml")])
    assert result.exit_code == 130, result.output
    lines = [line for line in result.stderr.splitlines()
             if line.strip() and "not a terminal" not in line]
    assert len(lines) == 1 and lines[0].startswith("alliance: interrupted")
    assert "Aborted" not in result.output and not (tmp_path / "a.toml").exists()


def test_ctrl_c_anywhere_in_a_command_is_130_and_one_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import click

    from designed_alliance.core.commands import template

    def interrupted() -> str:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise click.Abort() from None  # what click.prompt/confirm raise on Ctrl-C

    monkeypatch.setattr(template, "run", interrupted)
    result = CliRunner().invoke(command, ["template"])
    assert result.exit_code == 130
    assert result.stderr.strip().splitlines() == ["alliance: interrupted; nothing more was done"]


def _keep_prompt(isolation):  # type: ignore[no-untyped-def]
    """CliRunner swaps in its own input function; put the interrupting one back inside."""
    import contextlib

    import click

    interrupting = click.termui.visible_prompt_func

    @contextlib.contextmanager
    def wrapped(*args, **kwargs):  # type: ignore[no-untyped-def]
        with isolation(*args, **kwargs) as streams:
            click.termui.visible_prompt_func = interrupting
            yield streams

    return wrapped


# -- pipx users ------------------------------------------------------------------------------

def test_pipx_users_get_pipx_inject(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import sys

    from designed_alliance.core.errors import MissingExtra

    venvs = tmp_path / "pipx" / "venvs" / "designed-alliance"
    venvs.mkdir(parents=True)
    monkeypatch.setenv("PIPX_HOME", str(tmp_path / "pipx"))
    monkeypatch.setattr(sys, "prefix", str(venvs))
    message = str(MissingExtra("caldav", "caldav"))
    assert "pipx inject designed-alliance 'caldav>=1.3'" in message
    assert "pip install" not in message

    monkeypatch.setattr(sys, "prefix", str(tmp_path / "venv"))
    assert "pip install 'designed-alliance[caldav]'" in str(MissingExtra("caldav", "caldav"))


# -- the kickoff greets the others, not the organizer ----------------------------------------

class _Paragraphs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._in = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "p":
            self._in, self.texts = True, [*self.texts, ""]

    def handle_endtag(self, tag: str) -> None:
        self._in = self._in and tag != "p"

    def handle_data(self, data: str) -> None:
        if self._in:
            self.texts[-1] += data


def test_kickoff_does_not_greet_the_organizer(cli, isolated: Path) -> None:
    from designed_alliance.core.load import load

    alliance = load(example("team-project"))
    organizer, *others = alliance.members
    assert cli("setup", example("team-project"), "--yes").exit_code == 0
    (eml,) = example("team-project").parent.glob("alliance-out/*/kickoff.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    text = message.get_body(("plain",)).get_content()
    greeting = text.splitlines()[0]
    assert organizer.name not in greeting
    assert all(m.name in greeting for m in others), greeting
    parser = _Paragraphs()
    parser.feed(message.get_body(("html",)).get_content())
    assert organizer.name not in parser.texts[0] and others[0].name in parser.texts[0]
