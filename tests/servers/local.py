"""Real servers for the tests, on 127.0.0.1 with free ports: Radicale (CalDAV) and aiosmtpd.

Radicale runs as a subprocess so a test can stop it ("server down") and start it again on
the same port and storage; the ground truth is read from its storage folder on disk.
"""

from __future__ import annotations

import email
import email.policy
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import icalendar
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RadicaleServer:
    username = "alice"
    password = "s3cret-sentinel-dav"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.storage_dir = root / "collections"
        self.url = f"http://127.0.0.1:{self.port}/"
        self.calendar_url = f"{self.url}{self.username}/alliance/"
        self._process: subprocess.Popen | None = None
        users = root / "users"
        users.write_text(f"{self.username}:{self.password}\n")
        self.config = root / "radicale.conf"
        # Radicale's default auth denies everyone: say exactly who may do what.
        self.config.write_text(
            f"[server]\nhosts = 127.0.0.1:{self.port}\n"
            f"[auth]\ntype = htpasswd\nhtpasswd_filename = {users}\n"
            "htpasswd_encryption = plain\ndelay = 0\n"
            "[rights]\ntype = owner_only\n"
            f"[storage]\nfilesystem_folder = {self.storage_dir}\n"
            "[logging]\nlevel = warning\n")

    def start(self) -> None:
        """Start on the chosen port; on the very first start, a port someone else grabbed
        between choosing and binding it is replaced by a fresh one."""
        for attempt in range(3):
            try:
                self._start()
                return
            except RuntimeError:
                if attempt == 2 or self._started_once or "Address already in use" not in (
                        self.root / "radicale.log").read_text():
                    raise
                self._use_port(free_port())

    _started_once = False

    def _use_port(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{self.port}/"
        self.calendar_url = f"{self.url}{self.username}/alliance/"
        text = self.config.read_text().splitlines()
        self.config.write_text("\n".join(
            f"hosts = 127.0.0.1:{port}" if line.startswith("hosts =") else line
            for line in text) + "\n")

    def _start(self) -> None:
        log = (self.root / "radicale.log").open("ab")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", str(self.config)],
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError("radicale exited: "
                                   + (self.root / "radicale.log").read_text()[-2000:])
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    self._started_once = True
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("radicale did not start in 15 s")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def _request(self, method: str, url: str, body: bytes | None = None,
                 headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """One authenticated request with urllib (not the caldav library under test)."""
        import base64

        request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        token = f"{self.username}:{self.password}".encode()
        request.add_header("Authorization", "Basic " + base64.b64encode(token).decode())
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def mkcalendar(self) -> None:
        status, _ = self._request("MKCALENDAR", self.calendar_url)
        assert status == 201

    def put(self, name: str, data: bytes) -> int:
        """PUT a calendar object at `name` in the calendar, as another app would."""
        status, _ = self._request("PUT", self.calendar_url + name, data,
                                  {"Content-Type": "text/calendar; charset=utf-8"})
        return status

    def get(self, name: str) -> tuple[int, bytes]:
        return self._request("GET", self.calendar_url + name)

    def report(self) -> dict[str, icalendar.Calendar]:
        """Every object in the calendar by href name, as the server answers a calendar-query
        REPORT (parsed with ElementTree here, not with the client under test)."""
        import xml.etree.ElementTree as ET
        from urllib.parse import unquote

        query = (b'<?xml version="1.0" encoding="utf-8"?>'
                 b'<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
                 b"<D:prop><C:calendar-data/></D:prop><C:filter>"
                 b'<C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>')
        status, body = self._request("REPORT", self.calendar_url, query,
                                     {"Depth": "1", "Content-Type": "application/xml"})
        assert status == 207, (status, body[:500])
        found: dict[str, icalendar.Calendar] = {}
        for node in ET.fromstring(body).iter("{DAV:}response"):
            href = node.findtext("{DAV:}href") or ""
            data = node.find(".//{urn:ietf:params:xml:ns:caldav}calendar-data")
            if data is not None and data.text:
                found[unquote(href.rsplit("/", 1)[-1])] = icalendar.Calendar.from_ical(
                    data.text)
        return found

    def _files(self) -> list[Path]:
        folder = self.storage_dir / "collection-root" / self.username / "alliance"
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir()
                      if p.is_file() and not p.name.startswith(".Radicale"))

    def events(self) -> list[icalendar.Calendar]:
        return [icalendar.Calendar.from_ical(p.read_bytes()) for p in self._files()]

    def event_hrefs(self) -> list[str]:
        return [p.name for p in self._files()]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage = field(repr=False)
    over_tls: bool = False


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1/localhost, made now, for TLS tests.

    Returns (ca.pem, server.pem, server.key). Real X.509 with the extensions a strict
    OpenSSL wants (CA basic constraints, key usage, SAN, key identifiers).
    """
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "alliance test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                       crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False,
                                       decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_path, cert_path, key_path = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return ca_path, cert_path, key_path


class SmtpServer:
    """aiosmtpd on 127.0.0.1. `security`: "none" (plain), "starttls" (STARTTLS required
    before AUTH) or "tls" (implicit TLS from the first byte), with `certs` from
    make_certificates."""

    username = "alice"
    password = "s3cret-sentinel-smtp"

    def __init__(self, security: str = "none",
                 certs: tuple[Path, Path, Path] | None = None) -> None:
        import ssl

        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        self.messages: list[Received] = []
        self.logins: list[tuple[str, bool]] = []  # (user, over TLS) of every AUTH attempt
        self.port = free_port()
        self.host = "127.0.0.1"
        self.security = security
        server = self

        def over_tls(smtp) -> bool:
            # From the transport itself: aiosmtpd sets session.ssl only after STARTTLS.
            return smtp.transport.get_extra_info("ssl_object") is not None

        class Handler:
            async def handle_DATA(self, smtp, session, envelope):
                raw = envelope.original_content or envelope.content
                message = email.message_from_bytes(raw, policy=email.policy.default)
                server.messages.append(Received(envelope.mail_from,
                                                list(envelope.rcpt_tos), raw, message,
                                                over_tls(smtp)))
                return "250 OK"

        def authenticator(smtp, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword)
                  and auth_data.login.decode() == server.username
                  and auth_data.password.decode() == server.password)
            login = auth_data.login.decode() if isinstance(auth_data, LoginPassword) else ""
            server.logins.append((login, over_tls(smtp)))
            return AuthResult(success=ok, handled=False)

        # aiosmtpd logs that warning on every connection, from its own thread: it must not
        # land in the stderr of a CLI run under test.
        import logging

        logging.getLogger("mail.log").setLevel(logging.ERROR)
        # AUTH only over TLS when STARTTLS is offered; with implicit TLS the whole session is
        # TLS, and aiosmtpd 1.4 would refuse AUTH there (it only counts STARTTLS as TLS).
        options: dict = {"authenticator": authenticator, "auth_required": True,
                         "auth_require_tls": security == "starttls"}
        if security != "none":
            assert certs is not None, "TLS needs certificates: make_certificates(folder)"
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(certs[1]), str(certs[2]))
            if security == "starttls":
                options.update(tls_context=context, require_starttls=True)
            else:
                options.update(ssl_context=context)
        for attempt in range(3):  # a free port can be taken before we bind it: try another
            self.controller = Controller(Handler(), hostname=self.host, port=self.port,
                                         **options)
            try:
                self.controller.start()
                break
            except OSError:
                if attempt == 2:
                    raise
                self.port = free_port()

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def radicale(tmp_path_factory: pytest.TempPathFactory):
    server = RadicaleServer(tmp_path_factory.mktemp("radicale"))
    server.start()
    try:
        server.mkcalendar()
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_server():
    server = SmtpServer()
    try:
        yield server
    finally:
        server.stop()
