"""The `smtp` target: really sends the kickoff, and a change summary after each edit.

It announces every event, like `eml`: its state is "what the members were sent", so a re-run
with no change sends nothing, and an edit sends one summary with exactly the changed invites.
The messages are planned and composed in core; this target only sends them.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any, ClassVar

from designed_alliance.core.config import Config
from designed_alliance.core.errors import AllianceError
from designed_alliance.core.items import Message
from designed_alliance.core.plan import Action, Change, TargetPlan
from designed_alliance.core.target import (
    Applied,
    ApplyContext,
    Check,
    Options,
    Remote,
    Target,
)

from . import mail

SECURITY = ("starttls", "tls", "none")
KEYRING_SERVICE = "designed-alliance-smtp"


class SmtpTarget(Target):
    """Sends through `[smtp]` only when the user said `--send`; `--notify none` never sends."""

    name = "smtp"
    handles = frozenset({"message"})
    announces = True
    updates_kickoff = False  # sent mail stays sent: the change summary tells what changed
    can_lookup = False
    is_remote = True
    sends_mail = True
    timeout: ClassVar[float] = 30.0

    def __init__(self, config: Config, options: Options) -> None:
        super().__init__(config, options)
        self.section = config.section("smtp")
        self.host = ""
        self.port = 587
        self.security = "starttls"
        self.username = ""
        self.sender = ""
        self.ca_file: str | None = None
        if self.section is not None:
            self.host = self.section.text("host", required=True)
            self.security = self.section.text("security") or "starttls"
            if self.security not in SECURITY:
                raise self.section.fail("security", f"{self.security!r} is not known",
                                        "use starttls, tls or none")
            default_port = {"starttls": 587, "tls": 465, "none": 25}[self.security]
            self.port = self.section.get("port", int, default=default_port)
            self.username = self.section.text("username")
            self.sender = self.section.text("from")
            ca_file = self.section.text("ca_file")
            if ca_file:
                # A private CA (a company relay, a test server): trusted in addition to none
                # else — when it is given, only certificates it signed are accepted.
                path = Path(ca_file).expanduser()
                if not path.is_file():
                    raise self.section.fail("ca_file", f"{ca_file!r} is not a file",
                                            "give the path of the CA certificate (PEM) that "
                                            "signed the SMTP server's certificate")
                self.ca_file = str(path)
            for name in ("password_command", "password_env", "password_keyring"):
                self.section.raw(name)
            self.section.done()

    @property
    def instance(self) -> str:
        return f"smtp:{self.host}:{self.port}"

    # -- hooks for doctor and the config schema ------------------------------------------------
    @classmethod
    def config_schema(cls) -> dict[str, Any] | None:
        from .files import secret_schema

        return {"type": "object", "additionalProperties": False, "required": ["host"],
                "properties": {
                    "host": {"type": "string"},
                    "port": {"type": "integer"},
                    "security": {"enum": list(SECURITY), "default": "starttls"},
                    "username": {"type": "string"},
                    "from": {"type": "string",
                             "description": "From header (default: the organizer)."},
                    "ca_file": {"type": "string",
                                "description": "A CA certificate (PEM) to trust for this "
                                               "server instead of the system's CAs."},
                    **secret_schema("password")}}

    @classmethod
    def doctor_checks(cls, config: Config) -> list[Check]:
        from designed_alliance.core.probe import (
            login_check,
            missing_keys,
            password_check,
            server_check,
        )

        first = missing_keys("smtp", config, ("host",))
        if first is not None:
            return [first]
        values = config.sections["smtp"]
        password = password_check("smtp", config)
        out = [*([password] if password else []),
               server_check("smtp", values["host"], int(values.get("port", 587)))]
        if all(c.status == "ok" for c in out):
            out.append(login_check("smtp", cls, config, "TLS and login accepted"))
        return out

    def check_ready(self) -> None:
        if self.section is None:
            raise AllianceError(str(self.config.missing_section(
                "smtp", "smtp", then="set host, port, username and password_command")))
        if not self.options.send:
            raise AllianceError("the smtp target sends email to every member — add --send to "
                                "confirm, or use --to eml for drafts")

    def lookup(self, alliance_id: str) -> dict[str, Remote]:
        # Sent mail cannot be looked up; without state we would rather send again than never.
        return {}

    def _password(self) -> str | None:
        if not self.username:
            return None
        from designed_alliance.core.secrets import resolve

        assert self.section is not None
        return resolve(self.section, "password", service=KEYRING_SERVICE, user=self.username)

    def _send(self, message: EmailMessage) -> None:
        password = self._password()
        context = self._tls_context()
        try:
            if self.security == "tls":
                server: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port,
                                                        timeout=self.timeout, context=context)
            else:
                server = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with server:
                if self.security == "starttls":
                    server.starttls(context=context)
                if self.username:
                    server.login(self.username, password or "")
                server.send_message(message)
        except smtplib.SMTPAuthenticationError:
            raise AllianceError(f"the SMTP server refused the login for {self.username!r} — "
                                "check smtp.username and the password") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise AllianceError(f"the SMTP server does not support what smtp.security asks "
                                f"({exc}) — try security = \"tls\" or \"none\"") from None
        except ssl.SSLError as exc:
            raise AllianceError(f"TLS problem with {self.host}:{self.port} ({exc.reason}) — "
                                "check smtp.security and smtp.port") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise AllianceError(f"cannot send through {self.host}:{self.port} "
                                f"({type(exc).__name__}) — check smtp.host and smtp.port, then "
                                "run again; nothing was recorded as sent") from None

    def _tls_context(self) -> ssl.SSLContext:
        """Verifies the server's certificate and host name always; against `ca_file` when
        given, else the system's CAs."""
        try:
            return ssl.create_default_context(cafile=self.ca_file)
        except (ssl.SSLError, OSError) as exc:
            raise AllianceError(f"smtp.ca_file {self.ca_file} is not a PEM CA certificate "
                                f"({type(exc).__name__}) — give the CA's certificate file"
                                ) from None

    def verify(self) -> None:
        """For `doctor`: connect, do TLS as smtp.security says, log in; send nothing.
        Raises AllianceError with one line that says what to fix."""
        if self.section is None:
            raise AllianceError("no [smtp] section in the config — copy it from "
                                "config.example.toml (host, port, username, password_command)")
        password = self._password()
        context = self._tls_context()
        where = f"{self.host}:{self.port}"
        try:
            if self.security == "tls":
                server: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port,
                                                        timeout=self.timeout, context=context)
            else:
                server = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with server:
                server.ehlo()
                if self.security == "starttls":
                    server.starttls(context=context)
                    server.ehlo()
                if self.username:
                    server.login(self.username, password or "")
        except smtplib.SMTPAuthenticationError:
            raise AllianceError(f"the SMTP server {where} refused the login for "
                                f"{self.username!r} — check smtp.username and the password"
                                ) from None
        except smtplib.SMTPNotSupportedError:
            raise AllianceError(f"the SMTP server {where} does not offer what smtp.security "
                                f"= {self.security!r} needs — try \"tls\" (port 465) or "
                                "\"starttls\" (port 587)") from None
        except ssl.SSLCertVerificationError as exc:
            raise AllianceError(f"the SMTP server {where} has a certificate we cannot trust "
                                f"({exc.verify_message}) — fix it, or give the CA that "
                                "signed it as smtp.ca_file") from None
        except ssl.SSLError as exc:
            raise AllianceError(f"TLS problem with {where} ({exc.reason}) — check "
                                "smtp.security and smtp.port") from None
        except smtplib.SMTPServerDisconnected:
            raise AllianceError(f"the SMTP server {where} hung up — check smtp.security "
                                "(\"tls\" for port 465, \"starttls\" for 587)") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise AllianceError(f"cannot talk to the SMTP server {where} "
                                f"({type(exc).__name__}) — check smtp.host and smtp.port"
                                ) from None

    def _prepare(self, message: EmailMessage) -> EmailMessage:
        if self.sender:
            del message["From"]
            message["From"] = self.sender
        return message

    def apply(self, plan: TargetPlan, context: ApplyContext
              ) -> Iterator[Applied | tuple[Applied, ...]]:
        if self.options.notify == "none":
            # Nothing is sent, and nothing is recorded as sent: a later run can still send.
            context.progress(self.options, "smtp: --notify none, nothing sent")
            return
        yield from super().apply(plan, context)

    def deliver(self, change: Change, context: ApplyContext) -> str:
        message = change.item
        if change.action is Action.CANCEL or not isinstance(message, Message):
            return ""  # sent mail cannot be withdrawn; the cancellation notice says it
        if change.key == "kickoff":
            invites = mail.invites_for_all(context.events, context.sequences)
        else:
            invites = mail.invites_for_changes(context.alliance.id,
                                               context.announced(change.key))
        self._send(self._prepare(mail.build(message, invites, draft=False)))
        return message.message_id
