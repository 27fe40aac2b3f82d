"""The target contract run against the mail targets (eml files, smtp to a real aiosmtpd).

For a mail target "the remote side" is what the members were told: every invite in every mail
they got, read as a mail client would (the highest SEQUENCE per UID wins; METHOD:CANCEL
cancels). The invites are parsed with vobject and the mail with `email`, not with the code
that wrote them.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

import pytest
import vobject

from designed_alliance.core.config import load_config
from designed_alliance.core.target import Options
from designed_alliance.integrations.eml import EmlTarget
from designed_alliance.integrations.smtp import SmtpTarget

from .contract import RemoteView, TargetContract


def told(messages: list[EmailMessage]) -> dict[str, RemoteView]:
    """Item key → the latest invite the members got for it, as a mail client applies them."""
    latest: dict[str, tuple[int, RemoteView]] = {}
    for message in messages:
        for part in message.walk():
            if part.get_content_type() != "text/calendar":
                continue
            cal = vobject.readOne(part.get_content())
            method = cal.method.value
            for event in cal.vevent_list:
                key = event.contents["x-designed-alliance-key"][0].value
                fingerprint = event.contents["x-designed-alliance-fingerprint"][0].value
                sequence = int(event.sequence.value)
                view = RemoteView("cancelled" if method == "CANCEL" else "active",
                                  fingerprint, sequence)
                if key not in latest or sequence >= latest[key][0]:
                    latest[key] = (sequence, view)
    return {key: view for key, (_, view) in latest.items()}


class TestEmlTarget(TargetContract):
    supports_lookup = False  # a draft file is no proof of what the members accepted

    @pytest.fixture
    def target(self, tmp_path: Path):
        return EmlTarget(load_config(None), Options(out_dir=tmp_path / "out"))

    @pytest.fixture
    def remote(self, target):
        def read() -> dict[str, RemoteView]:
            messages = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                        for p in sorted(target.folder.glob("*.eml"))]
            return told(messages)  # type: ignore[arg-type]
        return read


class TestSmtpTarget(TargetContract):
    # Sent mail is found again from the copies the target keeps beside the state (sent/):
    # a lost state is rebuilt, and a mail already delivered is not delivered twice.
    supports_lookup = True
    idempotent_without_state = True

    @pytest.fixture
    def target(self, tmp_path: Path, smtp_server, monkeypatch: pytest.MonkeyPatch):
        monkeypatch.setenv("CONTRACT_SMTP_PASSWORD", smtp_server.password)
        path = tmp_path / "smtp.toml"
        path.write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_server.port}\n'
                        f'security = "none"\nusername = "{smtp_server.username}"\n'
                        'password_env = "CONTRACT_SMTP_PASSWORD"\n')
        return SmtpTarget(load_config(path, explicit=True),
                          Options(out_dir=tmp_path / "out", send=True))

    @pytest.fixture
    def remote(self, smtp_server):
        def read() -> dict[str, RemoteView]:
            # One member's mailbox: what ana@example.com received.
            mine = [r.message for r in smtp_server.messages if "ana@example.com" in r.rcpt_tos]
            return told(mine)
        return read
