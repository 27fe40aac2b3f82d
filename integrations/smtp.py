"""The `smtp` target: really sends the kickoff, and a change summary after each edit.

It announces every event, like `eml`: its state is "what the members were sent", so a re-run
with no change sends nothing, and an edit sends one summary with exactly the changed invites.
The messages are planned and composed in core; this target only sends them.

Never twice, never dropped silently:
- one transaction per mail; a recipient the server refuses (at RCPT or DATA) fails the run
  with their address, and the next run sends only to whoever has not confirmed it;
- per recipient, the intent ("sending") is committed to the state before DATA and the
  outcome ("sent") after it. A run killed in between, a state that cannot record the
  outcome, or a server that answers after the timeout leaves "sending": the mail may have
  arrived, so it is not sent again without `--resend` (the error names the Message-ID);
- a copy of each mail it sent and an index (Message-ID, fingerprint, who confirmed, the
  invites it carried) are kept in `sent/` beside the state file; `lookup` reads them, so a
  deleted state file does not send the kickoff to everyone again.
"""

from __future__ import annotations

import json
import smtplib
import ssl
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from designed_alliance.core.config import Config
from designed_alliance.core.errors import AllianceError, Refused
from designed_alliance.core.items import Message
from designed_alliance.core.plan import Action, Change, TargetPlan
from designed_alliance.core.state import DELIVERED, REFUSED, SENDING, DeliveryLog
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


class MaybeDelivered(Refused):
    """The server may have the mail (no answer after DATA): not sent again without
    --resend. The message names the Message-ID to look for."""

    says_what_next = True
KEYRING_SERVICE = "designed-alliance-smtp"


class SmtpTarget(Target):
    """Sends through `[smtp]` only when the user said `--send`; `--notify none` never sends."""

    name = "smtp"
    handles = frozenset({"message"})
    announces = True
    updates_kickoff = False  # sent mail stays sent: the change summary tells what changed
    can_lookup = True  # from the copies of what it sent (sent/ beside the state)
    is_remote = True
    sends_mail = True
    timeout: float = 30.0  # seconds; smtp.timeout in the config

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
            timeout = self.section.get("timeout", (int, float), default=self.timeout)
            if isinstance(timeout, bool) or not 0 < timeout <= 600:
                raise self.section.fail("timeout", f"{timeout!r} is not a number of seconds",
                                        "give how long to wait for the server, e.g. 30")
            # How long to wait for each answer; past it after DATA the outcome is unknown
            # (the mail may have arrived) and the member is not sent it again without --resend.
            self.timeout = float(timeout)
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
                    "timeout": {"type": "number", "default": 30,
                                "description": "Seconds to wait for each server answer."},
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
        """What the members were sent, from the copies kept in the sent folder: a lost state
        file must not send the kickoff to everyone again."""
        return sent_remotes(self.sent_folder(alliance_id))

    def _password(self) -> str | None:
        if not self.username:
            return None
        from designed_alliance.core.secrets import resolve

        assert self.section is not None
        return resolve(self.section, "password", service=KEYRING_SERVICE, user=self.username)

    def _connect(self) -> smtplib.SMTP:
        password = self._password()
        context = self._tls_context()
        if self.security == "tls":
            server: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                                    context=context)
        else:
            server = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            server.ehlo()
            if self.security == "starttls":
                server.starttls(context=context)
                server.ehlo()
            if self.username:
                server.login(self.username, password or "")
        except BaseException:
            server.close()
            raise
        return server

    def _send(self, message: EmailMessage, recipients: list[str], key: str,
              log: DeliveryLog | None, copy: Callable[[list[str]], None]) -> dict[str, str]:
        """Send `message` in one transaction to the recipients the server accepts, and
        return those it refused (with its reason) — never ignore them. The intent
        ("sending", per recipient) is committed before DATA and the outcome after; then
        `copy(accepted)` keeps the sent copy."""
        message_id = str(message["Message-ID"])
        sender = parseaddr(str(message.get("Sender") or message["From"]))[1]
        data = bytes(message)  # CRLF line ends (mail.policy()); Bcc never set by us
        refused: dict[str, str] = {}
        where = f"{self.host}:{self.port}"

        def mark(who: list[str], status: str) -> None:
            if log is not None and who:
                log.mark_many(key, who, message_id, status)

        try:
            with self._connect() as server:
                options = ["SMTPUTF8"] if not "".join([sender, *recipients]).isascii() else []
                code, reply = server.mail(sender, options)
                if code != 250:
                    raise smtplib.SMTPSenderRefused(code, reply, sender)
                accepted: list[str] = []
                for recipient in recipients:
                    code, reply = server.rcpt(recipient)
                    if code in (250, 251):
                        accepted.append(recipient)
                    else:
                        refused[recipient] = f"{code} {reply.decode(errors='replace')}"
                mark(list(refused), REFUSED)
                if not accepted:
                    server.rset()
                    return refused
                mark(accepted, SENDING)  # durable before DATA
                try:
                    code, reply = server.data(data)
                    if code != 250:  # data() returns the final reply; it raises only at 354
                        raise smtplib.SMTPDataError(code, reply)
                except smtplib.SMTPResponseException as exc:
                    # The server answered with an error: it did not take the mail.
                    error = exc.smtp_error
                    said = f"{exc.smtp_code} " + (error.decode(errors="replace")
                                                  if isinstance(error, bytes) else str(error))
                    refused.update(dict.fromkeys(accepted, said))
                    mark(accepted, REFUSED)
                    return refused
                except (OSError, smtplib.SMTPException) as exc:
                    # Sent, but no answer: it may have arrived. The "sending" rows stay, so
                    # no later run sends it again unless told to (--resend).
                    raise MaybeDelivered(
                        f"{where} did not confirm the mail to {', '.join(accepted)} "
                        f"({type(exc).__name__}) — it may already have been delivered: look "
                        f"for Message-ID {message_id} in that mailbox, then run again with "
                        "--resend only if it did not arrive") from None
                mark(accepted, DELIVERED)
                copy(accepted)
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
            # Only before DATA (an unanswered DATA is handled above): nothing was taken.
            raise AllianceError(f"cannot send through {where} "
                                f"({type(exc).__name__}) — check smtp.host and smtp.port, then "
                                "run again; nothing unconfirmed was recorded as sent") from None
        return refused

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
        where = f"{self.host}:{self.port}"
        try:
            with self._connect():
                pass  # connected, TLS done, logged in: all that doctor asks
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
            told = {e.key: (e.fingerprint, context.sequences.get(e.key, 0), "active",
                            e.summary) for e in context.events}
        else:
            announced = context.announced(change.key)
            invites = mail.invites_for_changes(context.alliance.id, announced)
            told = {c.key: _told(c) for c in announced
                    if c.kind == "event" and c.action is not Action.KEEP}
        built = self._prepare(mail.build(message, invites, draft=False))
        message_id = message.message_id
        recipients = list(dict.fromkeys(p.email for p in message.to))
        log = context.deliveries
        earlier = log.get(change.key) if log is not None else {}
        copy = SentCopy(self.sent_folder(context.alliance.id), change.key)
        have = copy.delivered_to(message_id)  # survives a lost state file
        have |= {r for r, (mid, status) in earlier.items()
                 if mid == message_id and status == DELIVERED}
        unknown = [r for r in recipients if r not in have and earlier.get(r, ("", ""))[1]
                   == SENDING and earlier[r][0] == message_id]
        if unknown and not self.options.resend:
            raise MaybeDelivered(
                f"an earlier run sent {change.key} to {', '.join(unknown)} without a "
                f"confirmation from the server — it may already have been delivered: look "
                f"for Message-ID {message_id} there; if it did not arrive, run again with "
                "--resend")
        todo = [r for r in recipients if r not in have]
        if not todo:
            return message_id  # every member has it: record it, send nothing

        def keep(accepted: list[str]) -> None:
            have.update(accepted)
            copy.write(built, message, recipients, sorted(have), told)

        refused = self._send(built, todo, change.key, log, keep)
        if refused:
            first = next(iter(refused.values()))
            raise Refused(
                f"the SMTP server refused {', '.join(refused)} ({first}) — {change.key} was "
                f"not delivered to them (the others have it); fix the address in the "
                "alliance file or ask the mail admin, then run again: only they get it")
        return message_id

    def sent_folder(self, alliance_id: str) -> Path:
        """`sent/<alliance>/<host-port>/` beside the state file: a lost or moved state file
        leaves it (and the output folder, which setup may rewrite, is not where a record of
        what the members received belongs)."""
        from designed_alliance.core.items import slug
        from designed_alliance.core.state import default_path

        return (default_path().parent / "sent" / slug(alliance_id)
                / slug(f"{self.host}-{self.port}"))


def _told(change: Change) -> tuple[str, int, str, dict[str, Any]]:
    if change.action is Action.CANCEL:
        assert change.record is not None
        return (change.record.fingerprint, change.sequence, "cancelled",
                dict(change.record.summary))
    assert change.item is not None
    return (change.item.fingerprint, change.sequence, "active", dict(change.item.summary))


class SentCopy:
    """The copy of one sent mail (`<key>.eml`, as sent) and its index (`<key>.json`: the
    Message-ID, fingerprint, recipients that confirmed, and the invites it carried), which
    `lookup` reads when the state file is gone."""

    def __init__(self, folder: Path, key: str) -> None:
        from designed_alliance.core.items import slug

        self.folder = folder
        self.key = key
        self.eml = folder / f"{slug(key)}.eml"
        self.index = folder / f"{slug(key)}.json"

    def read(self) -> dict[str, Any] | None:
        from .files import read_regular

        if not self.index.exists():
            return None
        try:
            data = json.loads(read_regular(self.index))
        except ValueError:
            return None  # damaged: as if not sent (the state, when there is one, says more)
        return data if isinstance(data, dict) else None

    def delivered_to(self, message_id: str) -> set[str]:
        data = self.read()
        if data is None or data.get("message_id") != message_id:
            return set()
        return {str(r) for r in data.get("delivered_to", [])}

    def write(self, built: EmailMessage, message: Message, recipients: list[str],
              delivered: list[str], told: dict[str, tuple[str, int, str, dict[str, Any]]]
              ) -> None:
        from .files import write_atomic

        write_atomic(self.eml, bytes(built))
        index = {"key": self.key, "message_id": message.message_id,
                 "fingerprint": message.fingerprint, "summary": message.summary,
                 "to": recipients, "delivered_to": delivered,
                 "told": {k: {"fingerprint": f, "sequence": n, "status": st, "summary": sm}
                          for k, (f, n, st, sm) in told.items()}}
        write_atomic(self.index, json.dumps(index, indent=1, sort_keys=True).encode())


def sent_remotes(folder: Path) -> dict[str, Remote]:
    """What the members were told, from the sent copies: each message every recipient
    confirmed, and per event the latest invite any mail carried (the highest SEQUENCE; a
    cancellation removes it)."""
    if not folder.is_dir():
        return {}
    found: dict[str, Remote] = {}
    latest: dict[str, tuple[int, str, Remote]] = {}
    for path in sorted(folder.glob("*.json")):
        data = SentCopy(folder, path.stem).read()
        if data is None or not data.get("delivered_to"):
            continue
        try:
            _read_index(data, found, latest)
        except (KeyError, TypeError, ValueError, AttributeError):
            continue  # an index edited by hand or damaged: not proof that anything was sent
    for event_key, (_, status, remote) in latest.items():
        if status == "active":
            found[event_key] = remote
    return found


def _read_index(data: dict[str, Any], found: dict[str, Remote],
                latest: dict[str, tuple[int, str, Remote]]) -> None:
    """Merge one index; all of it or nothing (raises on anything malformed first)."""
    key, message_id = data["key"], data["message_id"]
    to, delivered = data["to"], data["delivered_to"]
    if not (isinstance(key, str) and key and isinstance(message_id, str) and message_id
            and isinstance(to, list) and to and isinstance(delivered, list)):
        raise ValueError("not an index of ours")
    told: dict[str, tuple[int, str, Remote]] = {}
    for event_key, entry in dict(data.get("told") or {}).items():
        sequence = int(entry["sequence"])
        if not 0 <= sequence < 2**31:  # RFC 5545 integers; SQLite could not hold more
            raise ValueError("SEQUENCE out of range")
        told[str(event_key)] = (sequence, str(entry["status"]), Remote(
            str(event_key), "", str(entry["fingerprint"]), sequence,
            dict(entry.get("summary") or {})))
    if set(to) <= set(delivered):
        found[key] = Remote(key, message_id, str(data["fingerprint"]), 0,
                            dict(data.get("summary") or {"kind": "message"}))
    for event_key, value in told.items():
        if event_key not in latest or latest[event_key][0] <= value[0]:
            latest[event_key] = value
