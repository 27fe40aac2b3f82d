"""The .eml written without the email package (integrations/mime.py, issue 15) is the mail
`mail.build` makes, byte for byte: the boundaries are taken from the package's output and
given to the fast writer, so the two are compared exactly. What the fast writer has no
rule for goes the email-package way, and still comes out as the package writes it.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from designed_alliance.core.config import Config
from designed_alliance.core.items import Message, Person
from designed_alliance.core.load import load
from designed_alliance.core.run import desired
from designed_alliance.integrations import mail, mime

from .conftest import alliance_examples, run_probed
from .conftest import example as example_path

WHEN = datetime(2026, 12, 1, 15, 4, 5, tzinfo=UTC)
#: whether this Python's email package is one the rules were written for: elsewhere every
#: mail goes the package's way, and only the byte-for-byte equality is asserted
FAST = mime._SAME_EMAIL
rules = pytest.mark.skipif(not FAST, reason="no rules for this Python's email package")


def parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def boundaries(generated: bytes) -> tuple[str, str]:
    """The (outer, inner) boundaries the email generator chose, read back by its parser."""
    parsed = parse(generated)
    outer = parsed.get_boundary()
    assert outer
    first = parsed.get_payload()[0]
    inner = first.get_boundary() if first.is_multipart() else "=" * 15 + "0" * 19 + "=="
    return outer, inner or ""


def compare(message: Message, invites: list[mail.Invite], *, draft: bool = True,
            message_id: str | None = None, when: datetime = WHEN) -> bytes | None:
    """The fast writer's bytes (None when it has no rule), asserted equal to the package's;
    and build_bytes, whichever way it goes, writes what the package writes."""
    generated = bytes(mail.build(message, invites, draft=draft, message_id=message_id,
                                 date=when))
    fast = mail._fast_bytes(message, invites, draft=draft, message_id=message_id, date=when,
                            boundaries=boundaries(generated))
    if fast is not None:
        assert fast == generated
    written = mail.build_bytes(message, invites, draft=draft, message_id=message_id,
                               date=when)
    same = re.compile(rb"={15}\d{19}==")
    assert same.sub(b"B", written) == same.sub(b"B", generated)
    return fast


def lines(text: str) -> list[bytes]:
    """The lines as the package splits a text it encodes: at CR, LF and CRLF only (str's
    splitlines would split at VT, FF, NEL, … too)."""
    return text.encode("utf-8").splitlines()


def rfc2047_addresses(raw: bytes, header: str) -> list[tuple[str, str]]:
    """(name, address) pairs of an address header as RFC 2047 readers (mail clients) read
    it: white space between two encoded words dropped (§6.2), by email.header."""
    from email.header import decode_header, make_header
    from email.utils import getaddresses

    value = email.message_from_bytes(raw)[header].replace("\r\n", "")
    return [(str(make_header(decode_header(name))), address)
            for name, address in getaddresses([value])]


def assert_addresses(raw: bytes, message: Message) -> None:
    """From and To read back as they were: exactly by an RFC 2047 reader; by `email`'s own
    parser too, but for a space it doubles where a name needed two encoded words."""
    people = {"From": [message.sender], "To": list(message.to)}
    parsed = parse(raw)
    for header, wanted in people.items():
        assert rfc2047_addresses(raw, header) == [(p.name, p.email) for p in wanted]
        assert [(" ".join(a.display_name.split()), a.addr_spec)
                for a in parsed[header].addresses] == [(" ".join(p.name.split()), p.email)
                                                       for p in wanted]


def assert_reads_back(raw: bytes, message: Message, invites: list[mail.Invite], *,
                      draft: bool) -> None:
    """What the fast writer wrote, as `email` (policy default) reads it: the inputs."""
    parsed = parse(raw)
    assert_addresses(raw, message)
    assert parsed["Subject"] == message.subject
    assert parsed["Message-ID"] == message.message_id
    assert parsed["Date"].datetime == WHEN
    assert (parsed["X-Unsent"] == "1") if draft else parsed["X-Unsent"] is None
    if message.key != "kickoff":
        assert parsed["In-Reply-To"] == parsed["References"] == mail.item_message_id(
            message.alliance_id, "kickoff")
    else:
        assert parsed["In-Reply-To"] is None
    texts = [p for p in parsed.walk() if p.get_content_maintype() == "text"]
    assert [p.get_content_type() for p in texts[:2]] == ["text/plain", "text/html"]
    for part, wanted in zip(texts, [message.text, message.html], strict=False):
        # The same lines (a base64 or quoted-printable body carries CRLF line ends, and
        # the package ends the last line, so an empty text is one empty line).
        assert lines(part.get_content()) == (lines(wanted) or [b""])
    calendars = [p for p in parsed.walk() if p.get_content_type() == "text/calendar"]
    assert [p.get_content().encode() for p in calendars] == [i.data for i in invites]
    assert [p.get_param("method") for p in calendars] == [i.method for i in invites]
    if len(invites) > 1:
        assert parsed.get_content_type() == "multipart/mixed"
        assert [p.get_filename() for p in parsed.iter_attachments()] == [
            i.filename for i in invites]
    else:
        assert parsed.get_content_type() == "multipart/alternative"
        assert all(p.get_filename() is None for p in calendars)


def messages_of(path: Path) -> tuple[list[Message], list[mail.Invite]]:
    want = desired(load(path), Config())
    return list(want.messages), mail.invites_for_all(want.events, {})


@pytest.mark.parametrize("path", alliance_examples(), ids=lambda p: p.stem)
@pytest.mark.parametrize("draft", [True, False], ids=["draft", "sent"])
def test_every_examples_kickoff_is_written_as_the_package_writes_it(path: Path,
                                                                    draft: bool) -> None:
    messages, invites = messages_of(path)
    assert messages and len(invites) > 3
    for message in messages:
        for count in sorted({0, 1, 2, 3, len(invites)}):
            fast = compare(message, invites[:count], draft=draft)
            assert fast is not None or not FAST, (message.key, count)  # not the fallback
            if fast is None:
                continue
            assert_reads_back(fast, message, invites[:count], draft=draft)


def edited(text: str) -> str:
    """The check-ins half an hour later: every example then announces a change."""
    head, _, tail = text.partition("[checkins]")
    hour, minute = map(int, re.search(r'time = "(\d\d):(\d\d)"', tail).groups())  # type: ignore[union-attr]
    later = f"{(hour + (minute + 30) // 60) % 24:02d}:{(minute + 30) % 60:02d}"
    return head + "[checkins]" + re.sub(r'time = "\d\d:\d\d"', f'time = "{later}"', tail,
                                        count=1)


@pytest.mark.parametrize("path", alliance_examples(), ids=lambda p: p.stem)
def test_every_examples_change_summary_is_written_as_the_package_writes_it(
        path: Path, tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / path.name
    copy.write_text(path.read_text())
    out = tmp_path / "out"
    assert cli("setup", copy, "--out", out, "--to", "eml", "--yes").exit_code == 0
    copy.write_text(edited(copy.read_text()))
    written: list[tuple[Message, list[mail.Invite]]] = []
    real = mail.build_bytes

    def kept(message: Message, invites: list[mail.Invite], **kw: object) -> bytes:
        written.append((message, list(invites)))
        return real(message, invites, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(mail, "build_bytes", kept)
    result = cli("setup", copy, "--out", out, "--to", "eml", "--yes")
    assert result.exit_code == 0, result.output
    monkeypatch.undo()  # compare() below calls build_bytes itself
    (summary, invites), = [(m, i) for m, i in written if m.key.startswith("changes-")]
    assert invites  # the check-ins changed
    for message, announced in written:  # the summary, and what else the edit brought
        for draft in (True, False):
            fast = compare(message, announced, draft=draft)
            assert fast is not None or not FAST, message.key
            if fast is None:
                continue
            assert_reads_back(fast, message, announced, draft=draft)
    on_disk = parse(next(out.glob("changes-*.eml")).read_bytes())
    assert on_disk["Message-ID"] == summary.message_id
    assert [p.get_content().encode() for p in on_disk.walk()
            if p.get_content_type() == "text/calendar"] == [i.data for i in invites]


def person(name: str, address: str = "pat@example.org") -> Person:
    return Person(name, address)


def msg(subject: str = "Our designed alliance: x", text: str = "Hello,\n\nthe plan.",
        html: str = "<p>the plan</p>", sender: Person | None = None,
        to: tuple[Person, ...] | None = None, key: str = "kickoff") -> Message:
    return Message(alliance_id="a-1", key=key, subject=subject, text=text, html=html,
                   sender=sender or Person("Ana Ruiz", "ana@example.com"),
                   to=to if to is not None else (Person("Ben Okafor", "ben@example.com"),))


def invite(method: str = "REQUEST", name: str = "checkins.ics") -> mail.Invite:
    data = (f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:{method}\r\nBEGIN:VEVENT\r\n"
            "SUMMARY:Check-in — Tomás\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n").encode()
    return mail.Invite(name, method, data)


# Names that need the header folder's encoded words and its folding at 78 characters.
NAMES = ["Tomás Ferreira", "Zoë", "Zoë Smith Ñoño", "東京 太郎", "🎉 Party Planner",
         "Ana", "María José de la Cruz Fernández y Rodríguez-Montenegro Álvarez",
         "O'Brien", "a" * 70, "Ünïcödé " * 9 + "end", "x" * 40 + " ü" * 20]


@pytest.mark.parametrize("name", NAMES)
def test_names_that_need_encoded_words_are_folded_as_the_package_folds_them(name: str
                                                                            ) -> None:
    to = (person(name), Person("Mei Chen", "mei.chen@example.org"), person(name, "q@x.org"))
    message = msg(sender=person(name, "s@example.org"), to=to)
    fast = compare(message, [invite()])
    assert fast is not None or not FAST, name
    if fast is not None:
        assert_reads_back(fast, message, [invite()], draft=True)  # long ones too


# Names the package would quote or encode: our address folding writes them (both paths).
QUOTED_OR_ENCODED = ['Pat "the boss" Lee', "Lee, Pat", "Pat O. Lee", "Pat \\ Lee", "Pat (QA)",
                     "Pat  Lee", " Pat", "Pat\xa0Lee", "", "Ann-Marie d'Arc"]


@rules
@pytest.mark.parametrize("name", QUOTED_OR_ENCODED)
def test_names_that_need_quotes_or_encoding_read_back_as_they_were(name: str) -> None:
    message = msg(sender=person("Ana Ruiz", "ana@example.com"),
                  to=(person(name), Person("Mei Chen", "mei.chen@example.org")))
    fast = compare(message, [invite()])
    assert fast is not None, name
    assert_reads_back(fast, message, [invite()], draft=True)


FIRST = ["María", "José", "Zoë", "Łukasz", "Tomás", "Mei", "Lena", "Ana", "Jürgen", "Søren",
         "Chloé", "Nguyễn", "Ahmed", "Priya", "Bartholomew"]
LAST = ["Rodríguez García", "Ångström", "Żółć", "Ferreira", "Chen", "Vogel", "Müller",
        "Kierkegaard", "Dubois", "Văn Anh", "Hassan", "Patel", "de la Cruz Fernández"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(FIRST), st.sampled_from(LAST)), min_size=1,
                max_size=9))
@example([("Chloé", "Żółć"), ("Lena", "Chen"), ("Nguyễn", "Patel"), ("Jürgen", "Hassan"),
          ("Zoë", "Müller")])
def test_every_member_of_a_team_is_on_the_to_line_read_back(names: list[tuple[str, str]]
                                                            ) -> None:
    """Python 3.11's own folding wrote the comma before Jürgen as an encoded word here, and
    a reader merged him into the address before: one team in 16 like these lost someone.
    Both ways of writing a mail (the package's, for smtp and drafts, and the fast one)
    fold the To: line with mime.address_header now."""
    to = tuple(Person(f"{first} {last}", f"m{i}@example.org")
               for i, (first, last) in enumerate(names))
    message = msg(sender=Person("Ferreira Tomás Żółć Bartholomew María Łukasz",
                                "s@example.org"), to=to)
    for raw in (bytes(mail.build(message, [invite()], date=WHEN)),
                mail.build_bytes(message, [invite()], date=WHEN)):
        assert_addresses(raw, message)
        assert [(a.display_name, a.addr_spec) for a in parse(raw)["To"].addresses] == [
            (p.name, p.email) for p in to]  # short names: one encoded word each
        assert all(len(line) <= 78 for line in raw.split(b"\r\n\r\n")[0].split(b"\r\n"))


# Every input class the fast writer leaves to the email package (the report lists them).
FALLBACKS = {
    "name-with-tab": msg(to=(person("Pat\tLee"),)),
    "name-with-encoded-word": msg(to=(person("=?utf-8?q?x?="),)),
    "no-recipient": msg(to=()),
    "quoted-local-part": msg(to=(person("Pat", "pat..lee@example.org"),)),
    "non-ascii-address": msg(to=(person("Pat", "pät@example.org"),)),
    "subject-with-tab": msg(subject="a\tb"),
    "subject-with-two-spaces": msg(subject="a  b"),
    "subject-with-encoded-word": msg(subject="=?utf-8?q?caf=C3=A9?="),
    "non-ascii-subject-with-encoded-word": msg(subject="Tomás =?utf-8?q?x?="),
    "empty-subject": msg(subject=""),
    "subject-with-leading-space": msg(subject=" x"),
    "long-message-id": msg(key="nudge-" + "m" * 40 + "-" + "c" * 40),
}


@pytest.mark.parametrize("name", sorted(FALLBACKS))
def test_what_the_fast_writer_has_no_rule_for_is_written_by_the_package(name: str) -> None:
    assert compare(FALLBACKS[name], [invite(), invite(name="review.ics")]) is None


@rules
def test_odd_invites_and_dates_are_written_by_the_package() -> None:
    long_name = "c00003-with-a-long-identifier-so-the-file-name-header-folds.ics"
    assert compare(msg(), [invite(), invite(name=long_name)]) is None
    assert compare(msg(), [invite(), invite(name="tomás.ics")]) is None
    seconds = timezone(timedelta(hours=1, seconds=30))
    assert compare(msg(), [], when=WHEN.astimezone(seconds)) is None
    assert compare(msg(), [], when=WHEN.replace(tzinfo=None)) is None
    # an offset in whole minutes has a rule
    assert compare(msg(), [], when=WHEN.astimezone(timezone(timedelta(hours=-3, minutes=-30)))
                   ) is not None


@pytest.mark.parametrize("text,cte", [
    ("short lines\nof ASCII", "7bit"), ("café, short lines", "8bit"),
    ("x" * 100 + "\n" + "ascii " * 30, "quoted-printable"),
    ("\n".join(["a long line of ASCII with a café — " * 3] * 12), "quoted-printable"),
    ("東京" * 30 + "\n" + "🎉" * 30, "base64"), ("", "7bit")])
@rules
def test_each_transfer_encoding_is_chosen_as_the_package_chooses_it(text: str, cte: str
                                                                    ) -> None:
    fast = compare(msg(text=text, html=text), [])
    assert fast is not None
    plain, html = parse(fast).get_payload()
    assert plain["Content-Transfer-Encoding"] == html["Content-Transfer-Encoding"] == cte
    assert lines(plain.get_content()) == (lines(text) or [b""])


@rules
def test_a_boundary_found_in_a_part_is_never_used() -> None:
    taken = "=" * 15 + "1" * 19 + "=="
    message = msg(text=f"a line\n--{taken}\nand more")
    written = mail._fast_bytes(message, [], boundaries=(taken, taken))
    assert written is not None
    parsed = parse(written)
    assert parsed.get_boundary() != taken
    assert parsed.get_payload()[0].get_content().splitlines() == [
        "a line", f"--{taken}", "and more"]


def test_a_wrong_method_is_refused_before_anything_is_written() -> None:
    wrong = mail.Invite("x.ics", "CANCEL", invite("REQUEST").data)
    with pytest.raises(ValueError, match="METHOD:REQUEST inside but method=CANCEL"):
        mail.build_bytes(msg(), [wrong])


LINE_PIECES = st.sampled_from([
    "From the start", ".", ". dot", "trailing spaces   ", "tab\t", "x" * 77, "y" * 78,
    "z" * 79, "é" * 40, "a" * 75 + "é", "=" * 30, "a\rbare CR", "café — “quotes” 東京 🎉",
    "", " ", "caf\u0301e", "\x0b\x0c", "\x85 next line", "\u2028", "line=\t", "= " * 40])
BODY = st.lists(st.one_of(LINE_PIECES, st.text(max_size=120)), max_size=14).map("\n".join)
WORD = st.one_of(st.sampled_from(["Ana", "Tomás", "Zoë", "東京", "🎉", "O'Brien", "Ñoño",
                                  "x" * 30, "Ünïcödé", "Pat", "a+b", "Dr.", '"Q"', "L,"]),
                 st.text(st.characters(codec="utf-8"), min_size=1, max_size=12))
NAME = st.lists(WORD, min_size=1, max_size=6).map(" ".join)
SUBJECT = st.one_of(
    st.lists(st.one_of(WORD, st.sampled_from(["Re:", "—", "“quotes”", "a" * 50])),
             min_size=1, max_size=12).map(" ".join),
    st.text(max_size=90))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sender=NAME, to=st.lists(NAME, min_size=1, max_size=4), subject=SUBJECT,
       text=BODY, html=st.one_of(st.just(""), BODY), count=st.sampled_from([0, 1, 2, 3]),
       draft=st.booleans(), reply=st.booleans())
@example(sender="Tomás Ferreira", to=["Zoë", "東京 太郎"], subject="Kickoff — “beta”",
         text="From here\n.\ntrailing \n" + "x" * 100, html="", count=2, draft=True,
         reply=True)
def test_awkward_inputs_are_written_as_the_package_writes_them(
        sender: str, to: list[str], subject: str, text: str, html: str, count: int,
        draft: bool, reply: bool) -> None:
    message = msg(subject=subject, text=text, html=html, key="changes-1" if reply else
                  "kickoff", sender=person(sender, "s@example.org"),
                  to=tuple(person(n, f"p{i}@example.org") for i, n in enumerate(to)))
    invites = [invite(name=f"i{n}.ics") for n in range(count)]
    try:
        generated = bytes(mail.build(message, invites, draft=draft, date=WHEN))
    except Exception:  # what the package refuses, the fast way never writes
        assert mail._fast_bytes(message, invites, draft=draft, date=WHEN) is None
        return
    fast = mail._fast_bytes(message, invites, draft=draft, date=WHEN,
                            boundaries=boundaries(generated))
    if fast is not None:
        assert fast == generated
        parsed = parse(fast)
        assert parsed["Subject"] == subject
        texts = [p for p in parsed.walk() if p.get_content_maintype() == "text"]
        assert [lines(p.get_content()) for p in texts[:2]] == [
            lines(text) or [b""], lines(html) or [b""]]
        assert len(texts) == 2 + count
        # The names: read back as names people have by the tests above. For any text
        # at all, Python's readers themselves add a space at some encoded-word boundaries
        # (NBSPs next to 4-byte characters), so here only the addresses are compared.
        assert [a.addr_spec for a in parsed["To"].addresses] == [p.email for p in message.to]


@rules
def test_simple_names_and_bodies_always_take_the_fast_way() -> None:
    # The class the rules are for: a fallback here would be a silent loss of issue 15.
    for text in ["", "one line", "x" * 200 + "\n" + "é" * 100, "From here\n.\n" * 20]:
        subject = "Tomás — " + text[:30].replace("\n", " ")
        assert compare(msg(text=text, html=text, subject=subject), [invite()]) is not None


@rules
def test_a_fresh_setup_of_the_team_example_loads_no_email_module(tmp_path: Path) -> None:
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path / "state"),
               XDG_CACHE_HOME=str(tmp_path / "cache"))
    out = tmp_path / "out"
    done, loaded = run_probed(["setup", str(example_path("team-project")), "--yes",
                               "--out", str(out)], env=env)
    assert done.returncode == 0, done.stderr
    assert "designed_alliance.integrations.mime" in loaded  # the kickoff was written
    assert not {m for m in loaded if m == "email" or m.startswith("email.")}
    kickoff = parse((out / "kickoff.eml").read_bytes())  # and it reads as a mail
    assert len(list(kickoff.iter_attachments())) == 7
