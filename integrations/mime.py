"""The kickoff and change-summary `.eml` written without importing the `email` package.

Importing `email` (headerregistry → utils → socket, the header parser, the generator, the
policies) and building the message through `EmailMessage` was a third of a fresh setup's
CPU (issue 15). This module writes exactly the bytes `bytes(mail.build(...))` writes — the
same headers in the same order, folded the same way, the same transfer encodings — except
the random boundary strings, which have the package's shape. Like `ical._fast_calendar`,
it only writes what it has a rule for: for any other input `write` returns None and the
caller goes the email-package way.

The rules are ports of CPython 3.11's `email` code, named after the function they follow
(`_refold` is `_header_value_parser._refold_parse_tree`, `_qp_body` is
`quoprimime.body_encode`, `_text_body` is `contentmanager._encode_text`, …); the tests
compare every byte with the package, so a Python whose package writes otherwise shows up
there (and `write` only runs on the versions it was compared on, see `_SAME_EMAIL`).
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta

MAXLEN = 78  # email.policy's max_line_length, which our POLICY keeps
LINESEP = "\r\n"
_LINE = 76  # RFC 2047 §2: a line with encoded words is at most 76 characters

#: The minor versions whose `email` these rules were compared with byte for byte by
#: tests/test_mime_fast.py (3.11.7, 3.12.1, 3.13.0; 3.12 also over 5,000 generated mails).
#: 3.13's own address folding differs, but From and To are folded by address_header on
#: both paths now.
_SAME_EMAIL = sys.version_info[:2] in {(3, 11), (3, 12), (3, 13)}


def encoded_words(name: str, text: str, linesep: str = LINESEP) -> str:
    """`Name: =?utf-8?b?…?=` folded onto lines of at most 76 characters.

    Every space travels inside an encoded word, never between two, so a reader that joins
    adjacent encoded words (as RFC 2047 §6.2 says to) gets the text back exactly. (The
    email package's folder drops the space between two encoded words when a fold falls
    between them: "— “quotes”" came back as "—“quotes”"; mail.MailPolicy uses this too.)
    """
    lines: list[str] = []
    prefix_len = len(name) + 2  # "Subject: "
    chunk = b""
    for char in text:
        data = char.encode("utf-8")
        # base64 of n bytes is 4·⌈n/3⌉ characters; "=?utf-8?b?" + "?=" is 12 more.
        if chunk and prefix_len + 12 + 4 * -(-(len(chunk) + len(data)) // 3) > _LINE:
            lines.append(f"=?utf-8?b?{base64.b64encode(chunk).decode('ascii')}?=")
            chunk, prefix_len = b"", 1  # continuation lines start with one space
        chunk += data
    if chunk:
        lines.append(f"=?utf-8?b?{base64.b64encode(chunk).decode('ascii')}?=")
    return f"{name}: " + f"{linesep} ".join(lines) + linesep


# ---------------------------------------------------------------------------------------
# Header folding: a small copy of the parse-tree classes `email._header_value_parser`
# builds for the headers we write, and its folding algorithm over them.

_WSP = " \t"


class _Term(str):
    """A terminal (`_header_value_parser.Terminal`): a piece of text with a token type."""

    as_ew_allowed = True
    ew_combine_allowed = True
    syntactic_break = True
    token_type = ""

    def __new__(cls, value: str, token_type: str) -> _Term:
        self = super().__new__(cls, value)
        self.token_type = token_type
        return self

    def startswith_fws(self) -> bool:
        return self.token_type == "fws"


class _List(list["_Term | _List"]):
    """A token list (`TokenList`); subclasses set what the parser's subclasses set."""

    token_type = ""
    ew_combine_allowed = True
    syntactic_break = True
    ew_never = False  # as_ew_allowed is False whatever the children say

    def __str__(self) -> str:
        return "".join(str(x) for x in self)

    @property
    def as_ew_allowed(self) -> bool:
        return not self.ew_never and all(part.as_ew_allowed for part in self)

    def startswith_fws(self) -> bool:
        return self[0].startswith_fws()


def _node(token_type: str, *children: _Term | _List, ew_never: bool = False,
          ew_combine: bool = True) -> _List:
    node = _List(children)
    node.token_type = token_type
    node.ew_never = ew_never
    node.ew_combine_allowed = ew_combine
    return node


def _fws() -> _List:
    return _node("cfws", _Term(" ", "fws"))


_OUR_WORD = re.compile(r"=\?utf-8\?([qb])\?([^?]*)\?=")


def _ew_encode(text: str) -> str:
    """`email._encoded_words.encode(text, 'utf-8')`: q unless b is 5 or more shorter."""
    data = text.encode("utf-8")
    quoted = "".join(_Q_HEADER[b] for b in data)
    b_len = len(data) // 3 * 4 + (4 if len(data) % 3 else 0)
    if len(quoted) - b_len < 5:
        return f"=?utf-8?q?{quoted}?="
    return f"=?utf-8?b?{base64.b64encode(data).decode('ascii')}?="


_Q_SAFE = b"-!*+/ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_Q_HEADER = ["_" if b == 32 else chr(b) if b in _Q_SAFE else f"={b:02X}" for b in range(256)]


def _ew_decode(word: str) -> str:
    match = _OUR_WORD.fullmatch(word)
    assert match, word  # only ever one of ours (see _joined)
    if match.group(1) == "b":
        return base64.b64decode(match.group(2)).decode("utf-8")
    raw = match.group(2).replace("_", " ")
    return re.sub(r"=([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)),
                  raw).encode("latin-1").decode("utf-8")


class _Unfoldable(Exception):
    """The folding took a turn these rules do not follow: write this one with `email`."""


def _joined(tail: str) -> str:
    """`str(get_unstructured(tail))` for what `_fold_as_ew` combines: one of our encoded
    words at the start, then plain ASCII (names with "=?" never come here)."""
    match = _OUR_WORD.match(tail)
    if match is None or "=?" in tail[match.end():]:
        raise _Unfoldable(tail)
    return _ew_decode(match.group(0)) + tail[match.end():]


def _steal_trailing_wsp(lines: list[str]) -> str:
    if lines and lines[-1] and lines[-1][-1] in _WSP:
        wsp = lines[-1][-1]
        lines[-1] = lines[-1][:-1]
        return wsp
    return ""


def _fold_as_ew(to_encode: str, lines: list[str], last_ew: int | None,
                ew_combine_allowed: bool) -> int | None:
    """`_header_value_parser._fold_as_ew` with charset utf-8 and maxlen 78."""
    if last_ew is not None and ew_combine_allowed:
        to_encode = _joined(lines[-1][last_ew:] + to_encode)
        lines[-1] = lines[-1][:last_ew]
    if to_encode[0] in _WSP:
        leading_wsp = to_encode[0]
        to_encode = to_encode[1:]
        if len(lines[-1]) == MAXLEN:
            lines.append(_steal_trailing_wsp(lines))
        lines[-1] += leading_wsp
    trailing_wsp = ""
    if to_encode[-1] in _WSP:
        trailing_wsp = to_encode[-1]
        to_encode = to_encode[:-1]
    new_last_ew = len(lines[-1]) if last_ew is None else last_ew
    chrome_len = len("utf-8") + 7
    while to_encode:
        remaining_space = MAXLEN - len(lines[-1])
        text_space = remaining_space - chrome_len
        if text_space <= 0:
            lines.append(" ")
            continue
        to_encode_word = to_encode[:text_space]
        encoded_word = _ew_encode(to_encode_word)
        while len(encoded_word) - remaining_space > 0:
            to_encode_word = to_encode_word[:-1]
            encoded_word = _ew_encode(to_encode_word)
        lines[-1] += encoded_word
        to_encode = to_encode[len(to_encode_word):]
        if to_encode:
            lines.append(" ")
            new_last_ew = len(lines[-1])
    lines[-1] += trailing_wsp
    return new_last_ew if ew_combine_allowed else None


_BLOCK_END = _Term("", "wrap_as_ew_blocked")


def _refold(tree: _List) -> str:
    """`_header_value_parser._refold_parse_tree` under a policy with utf8=False, maxlen 78
    (the branches for 'ptext' and MIME parameters are for tokens we never build)."""
    lines = [""]
    last_ew: int | None = None
    wrap_as_ew_blocked = 0
    want_encoding = False
    parts: list[_Term | _List] = list(tree)
    while parts:
        part = parts.pop(0)
        if part is _BLOCK_END:
            wrap_as_ew_blocked -= 1
            continue
        tstr = str(part)
        if not tstr.isascii():
            want_encoding = True
        if want_encoding and not wrap_as_ew_blocked:
            if not part.as_ew_allowed:
                want_encoding = False
                last_ew = None
                if part.syntactic_break:
                    assert isinstance(part, _List)  # a terminal may always be encoded
                    encoded_part = _refold(part)[:-len(LINESEP)]
                    if LINESEP not in encoded_part:
                        if len(encoded_part) > MAXLEN - len(lines[-1]):
                            lines.append(_steal_trailing_wsp(lines))
                        lines[-1] += encoded_part
                        continue
            if isinstance(part, _List):
                parts = list(part) + parts
            else:
                last_ew = _fold_as_ew(tstr, lines, last_ew, part.ew_combine_allowed)
            want_encoding = False
            continue
        if len(tstr) <= MAXLEN - len(lines[-1]):
            lines[-1] += tstr
            continue
        if part.syntactic_break and len(tstr) + 1 <= MAXLEN:
            newline = _steal_trailing_wsp(lines)
            if newline or part.startswith_fws():
                lines.append(newline + tstr)
                last_ew = None
                continue
        if isinstance(part, _List):
            newparts: list[_Term | _List] = list(part)
            if not part.as_ew_allowed:
                wrap_as_ew_blocked += 1
                newparts.append(_BLOCK_END)
            parts = newparts + parts
            continue
        if part.as_ew_allowed and not wrap_as_ew_blocked:
            parts.insert(0, part)
            want_encoding = True
            continue
        newline = _steal_trailing_wsp(lines)
        if newline or part.startswith_fws():
            lines.append(newline + tstr)
        else:
            lines[-1] += tstr
    return LINESEP.join(lines) + LINESEP


def _header(name: str, value: _List) -> str:
    """`BaseHeader.fold`: the label, one space, the value's parse tree, folded."""
    label = _node("header-label", _Term(name, "header-name"), _Term(":", "header-sep"),
                  ew_never=True)
    return _refold(_node("header", label, _fws(), value))


# Address headers are folded by our own rules, on both paths (mail.MailPolicy folds From
# and To with `address_header` too): Python 3.11's folder cuts an encoded display name in
# the middle of a word ("Łuk asz") or writes the comma between two addresses as an encoded
# word, so a reader merges two recipients into one — one team in 16 with non-ASCII names
# lost a member from the To: line that way. Here a fold falls only between the tokens of
# an address: plain words, encoded words, the <address>.
_ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
_ATOM = re.compile(rf"[{_ATEXT}]+")
_DOT_ATOM = re.compile(rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*")
_QUOTABLE = re.compile(r"[\x20-\x7e]+")  # printable ASCII: a quoted-string holds it
# Characters of one encoded word: "From: " and it fit on a line (RFC 2047 §2 allows 75).
_EW_MAX = 72


def _phrase_words(text: str) -> list[str]:
    """`text` as RFC 2047 "Q" encoded words for a phrase (§5(3): only letters, digits and
    !*+-/ as they are), each at most _EW_MAX long and cut between characters. Spaces are
    inside them (as "_"): a reader drops the white space between two encoded words
    (§6.2), so one name cut in two still reads back whole. (Python's own parser keeps a
    space there: it reads such a name, longer than one encoded word, with one space
    doubled — never a word cut or two names merged.)"""
    words: list[str] = []
    chunk = ""
    for char in text:
        piece = "".join(_Q_HEADER[b] for b in char.encode("utf-8"))
        if chunk and len(chunk) + len(piece) + 12 > _EW_MAX:  # "=?utf-8?q?" + "?="
            words.append(f"=?utf-8?q?{chunk}?=")
            chunk = ""
        chunk += piece
    if chunk:
        words.append(f"=?utf-8?q?{chunk}?=")
    return words


def _display_words(display: str) -> list[str] | None:
    """A name with non-ASCII letters as the package writes it when it fits: plain words
    as they are, each run of the others (with the spaces between them) as encoded words,
    so no two encoded words meet where a reader would drop a space. None for spaces at
    either end or doubled, which the package keeps."""
    words = display.split(" ")
    if "" in words:
        return None
    tokens: list[str] = []
    run: list[str] = []
    for word in [*words, None]:
        if word is not None and not _ATOM.fullmatch(word):
            run.append(word)
            continue
        if run:
            tokens += _phrase_words(" ".join(run))
            run = []
        if word is not None:
            tokens.append(word)
    return tokens


def _mailbox(display: str, email: str) -> list[str] | None:
    """The tokens of one `Name <local@domain>`, or None for what these rules leave to the
    email package (an address that is not a plain dot-atom, a name with control
    characters or "=?", which a reader would decode)."""
    local, at, domain = email.partition("@")
    if not at or not _DOT_ATOM.fullmatch(local) or not _DOT_ATOM.fullmatch(domain):
        return None
    if not display:
        return [email]
    if "=?" in display or any(ord(c) < 32 or 127 <= ord(c) < 160 for c in display):
        return None
    if all(_ATOM.fullmatch(word) for word in display.split(" ")):
        words = display.split(" ")
    elif _QUOTABLE.fullmatch(display):
        quoted = display.replace("\\", "\\\\").replace('"', '\\"')
        words = [f'"{quoted}"']
        if len(words[0]) > _EW_MAX:
            return None  # a quoted-string cannot be folded inside
    else:
        try:
            display.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: the package's error, from the package
            return None
        found = _display_words(display)
        if found is None:
            return None
        words = found
    return [*words, f"<{email}>"]


def address_header(name: str, people: Sequence[tuple[str, str]],
                   linesep: str = LINESEP) -> str | None:
    """`Name: a, b, …` for (display name, address) pairs, folded at 78 characters only
    between tokens: the words of a plain name, the encoded words of another, an address.
    None when a name or address is outside the forms `_mailbox` writes."""
    if not people:
        return None
    tokens: list[str] = []
    for number, (display, email) in enumerate(people):
        mailbox = _mailbox(display, email)
        if mailbox is None:
            return None
        if number:
            tokens[-1] += ","
        tokens += mailbox
    lines = [f"{name}:"]
    for token in tokens:
        if len(lines[-1]) + 1 + len(token) > MAXLEN and lines[-1].strip() != f"{name}:":
            lines.append("")
        lines[-1] += " " + token
    return linesep.join(lines) + linesep


_PRINTABLE = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*")


def unstructured_header(name: str, text: str) -> str | None:
    """`Name: text` as an UnstructuredHeader folds printable ASCII words one space apart
    (no "=?", which the parser would decode); None otherwise."""
    if not _PRINTABLE.fullmatch(text) or "=?" in text:
        return None
    tokens: list[_Term | _List] = []
    for number, word in enumerate(text.split(" ")):
        if number:
            tokens.append(_Term(" ", "fws"))
        tokens.append(_Term(word, "vtext"))
    try:
        return _header(name, _node("unstructured", *tokens))
    except _Unfoldable:
        return None


_MSG_ID = re.compile(rf"<[{_ATEXT}]+(?:\.[{_ATEXT}]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*>")


def message_id_header(name: str, value: str) -> str | None:
    """A Message-ID that fits on its line is written as it is (MessageIDHeader)."""
    line = f"{name}: {value}"
    return line + LINESEP if _MSG_ID.fullmatch(value) and len(line) <= MAXLEN else None


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
           "Dec")


def format_date(when: datetime) -> str | None:
    """`email.utils.format_datetime(when)` as the DateHeader writes it back (it parses the
    text and formats it again): None where that round trip could change it (seconds in
    the offset, a year a two-digit reading would move)."""
    offset = when.utcoffset()
    if offset is None or offset % timedelta(minutes=1) or not 1900 <= when.year <= 9999:
        return None
    minutes = int(offset.total_seconds()) // 60
    zone = f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    return (f"{_DAYS[when.weekday()]}, {when.day:02d} {_MONTHS[when.month - 1]} "
            f"{when.year:04d} {when.hour:02d}:{when.minute:02d}:{when.second:02d} {zone}")


# ---------------------------------------------------------------------------------------
# Bodies

_QP_BODY = [f"={c:02X}" for c in range(256)]
for _c in (b" !\"#$%&'()*+,-./0123456789:;<>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"
           b"abcdefghijklmnopqrstuvwxyz{|}~\t\r\n"):
    _QP_BODY[_c] = chr(_c)
del _c
_QP_TABLE = dict(enumerate(_QP_BODY))


def _qp_body(body: str, maxlinelen: int = MAXLEN, eol: str = "\n") -> str:
    """`quoprimime.body_encode`: quote, then cut lines at maxlinelen with soft breaks."""
    if not body:
        return body
    body = body.translate(_QP_TABLE)
    soft_break = "=" + eol
    maxlinelen1 = maxlinelen - 1
    encoded: list[str] = []
    for line in body.splitlines():
        start = 0
        laststart = len(line) - 1 - maxlinelen
        while start <= laststart:
            stop = start + maxlinelen1
            if line[stop - 2] == "=":  # never cut an escape
                encoded.append(line[start:stop - 1])
                start = stop - 2
            elif line[stop - 1] == "=":
                encoded.append(line[start:stop])
                start = stop - 1
            else:
                encoded.append(line[start:stop] + "=")
                start = stop
        if line and line[-1] in " \t":
            room = start - laststart
            if room >= 3:
                q = f"={ord(line[-1]):02X}"  # quoprimime.quote
            elif room == 2:
                q = line[-1] + soft_break
            else:
                q = soft_break + f"={ord(line[-1]):02X}"
            encoded.append(line[start:-1] + q)
        else:
            encoded.append(line[start:])
    if body[-1] in "\r\n":
        encoded.append("")
    return eol.join(encoded)


def _base64_lines(data: bytes) -> str:
    """`contentmanager._encode_base64`: 57 bytes a line, each line ending in LF."""
    step = MAXLEN // 4 * 3
    return "".join(binascii.b2a_base64(data[i:i + step]).decode("ascii")
                   for i in range(0, len(data), step))


def _text_body(text: str) -> tuple[str, bytes]:
    """`contentmanager._encode_text(text, 'utf-8', None, POLICY)` (cte_type 8bit): the
    transfer encoding and the body as the generator writes it (CRLF line ends)."""
    lines = text.encode("utf-8").splitlines()
    if max((len(x) for x in lines), default=0) <= MAXLEN:
        body = b"\n".join(lines) + b"\n"
        return ("7bit" if body.isascii() else "8bit"), _crlf_bytes(body)
    sniff = b"\r\n".join(lines[:10]) + b"\r\n"
    sniff_qp = _qp_body(sniff.decode("latin-1"))
    if len(sniff_qp) > len(binascii.b2a_base64(sniff)):
        data = _base64_lines(b"\r\n".join(lines) + b"\r\n")
        return "base64", _crlf(data)
    if len(lines) <= 10:
        return "quoted-printable", _crlf(sniff_qp)
    return "quoted-printable", _crlf(_qp_body((b"\n".join(lines) + b"\n").decode("latin-1")))


_NL = re.compile(r"\r\n|\r|\n")
_NL_BYTES = re.compile(rb"\r\n|\r|\n")


def _crlf(payload: str) -> bytes:
    """`Generator._write_lines`: every line end written as CRLF."""
    return _crlf_bytes(payload.encode("ascii"))


def _crlf_bytes(payload: bytes) -> bytes:
    lines = _NL_BYTES.split(payload)
    return b"".join(line + b"\r\n" for line in lines[:-1]) + lines[-1]


# ---------------------------------------------------------------------------------------
# The message


def make_boundary() -> str:
    """The email package's shape: 15 "=", 19 digits, "==" (the lengths the folding of
    `Content-Type: multipart/…; boundary=…` depends on)."""
    return "=" * 15 + f"{secrets.randbelow(sys.maxsize):019d}" + "=="


# A file name no header needs to quote, encode or fold (mail uses it too).
PLAIN_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,60}")


def _text_part(text: str, subtype: str, mime_version: bool) -> bytes:
    cte, body = _text_body(text)
    head = (f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
            f"Content-Transfer-Encoding: {cte}\r\n")
    if mime_version:  # EmailMessage.set_content adds it; MIMEPart's does not
        head += "MIME-Version: 1.0\r\n"
    return head.encode("ascii") + b"\r\n" + body


def invite_part(filename: str, method: str, data: bytes, attached: bool) -> bytes | None:
    """An invite part as `MIMEPart.set_content(…, disposition=None)` (inline) or
    `add_attachment` writes it: set_param moves Content-Type after the other headers.
    None for a file name or method the generator would fold or encode."""
    content_type = f'Content-Type: text/calendar; method="{method}"; charset="utf-8"'
    if not method.isalpha() or not method.isascii() or len(content_type) > MAXLEN:
        return None
    head = ["Content-Transfer-Encoding: base64"]
    if attached:
        disposition = f'Content-Disposition: attachment; filename="{filename}"'
        if not PLAIN_NAME.fullmatch(filename) or len(disposition) > MAXLEN:
            return None
        head.append(disposition)
    head.append(content_type)
    if attached:
        head.append("MIME-Version: 1.0")
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + _crlf(_base64_lines(data))


def _multipart(subtype: str, boundary: str, parts: Sequence[bytes]) -> tuple[str, bytes]:
    """`Generator._handle_multipart`: the Content-Type line(s) and the body."""
    header = f'Content-Type: multipart/{subtype}; boundary="{boundary}"'
    if len(header) > MAXLEN:  # _fold_mime_parameters puts the boundary on its own line
        header = f'Content-Type: multipart/{subtype};\r\n boundary="{boundary}"'
    delimiter = f"--{boundary}".encode("ascii")
    body = (delimiter + b"\r\n" + (b"\r\n" + delimiter + b"\r\n").join(parts)
            + b"\r\n" + delimiter + b"--\r\n")
    return header + "\r\n", body


def write(sender: tuple[str, str], to: Sequence[tuple[str, str]], subject: str, text: str,
          html: str, invites: Sequence[tuple[str, str, bytes]], *, draft: bool,
          message_id: str, reply_to: str | None, date: datetime,
          boundaries: tuple[str, str] | None = None) -> bytes | None:
    """The mail `mail.build` makes, as `bytes()` writes it, or None for an input these
    rules do not cover. `invites` are (file name, method, data); `reply_to` is the
    kickoff's Message-ID for a mail in its thread; `boundaries` (outer, inner) are for
    tests, which compare with the package's output."""
    if not _SAME_EMAIL:
        return None
    try:
        text.encode("utf-8"), html.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: the package's error, from the package
        return None
    when = format_date(date)
    headers = [address_header("From", [sender]), address_header("To", to)]
    if subject.isascii():
        headers.append(unstructured_header("Subject", subject))
    elif len(subject.splitlines()) == 1 and "=?" not in subject:
        # MailPolicy folds the header's text, which the parser has decoded "=?…?=" in
        headers.append(encoded_words("Subject", subject))
    else:
        return None
    headers.append(f"Date: {when}\r\n" if when else None)
    headers.append(message_id_header("Message-ID", message_id))
    if reply_to is not None:
        headers.append(unstructured_header("In-Reply-To", reply_to))
        headers.append(unstructured_header("References", reply_to))
    if draft:
        headers.append("X-Unsent: 1\r\n")
    headers.append("MIME-Version: 1.0\r\n")
    if any(h is None for h in headers):
        return None
    alternatives = [_text_part(text, "plain", False), _text_part(html, "html", True)]
    attachments: list[bytes] = []
    for filename, method, data in invites:
        part = invite_part(filename, method, data, attached=len(invites) > 1)
        if part is None:
            return None
        (attachments if len(invites) > 1 else alternatives).append(part)
    everything = b"".join(alternatives + attachments)
    outer, inner = boundaries or (make_boundary(), make_boundary())
    while (f"--{outer}".encode("ascii") in everything or f"--{inner}".encode("ascii")
           in everything or outer == inner):
        # The generator looks for its boundary in the parts and picks another one.
        outer, inner = make_boundary(), make_boundary()
    if attachments:
        alt_type, alt_body = _multipart("alternative", inner, alternatives)
        alt_part = alt_type.encode("ascii") + b"\r\n" + alt_body
        content_type, body = _multipart("mixed", outer, [alt_part, *attachments])
    else:
        content_type, body = _multipart("alternative", outer, alternatives)
    return ("".join(h for h in headers if h) + content_type + "\r\n").encode("ascii") + body
