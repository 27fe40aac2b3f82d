"""Readable ids from names in any script: "Zoë" → "zoe", "Łukasz" → "lukasz", "美咲" → "m-3f2a".

`init` derives member and commitment ids from names, and ids must match the loader's
ID_RE (ASCII letters, digits, '-', '_', '.'). NFKD strips accents; letters that do not
decompose (ø, ß, ł, æ …) and the Greek and Cyrillic alphabets go through a small table; a
name left with nothing Latin gets a short hash, so two such names still get different ids
and the same name always the same one.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

# Latin letters without a decomposition, and the common ligatures.
_LATIN = {
    "ß": "ss", "ẞ": "ss", "æ": "ae", "Æ": "ae", "ø": "o", "Ø": "o", "œ": "oe", "Œ": "oe",
    "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "þ": "th", "Þ": "th",
    "ħ": "h", "Ħ": "h", "ı": "i", "ŋ": "ng", "Ŋ": "ng", "ĸ": "k", "ſ": "s", "ŧ": "t",
    "Ŧ": "t", "ƒ": "f", "ɲ": "ny", "ə": "e", "Ə": "e",
}
# Lower-case Greek and Cyrillic (after casefold), simple one-to-one readings.
_GREEK = dict(zip("αβγδεζηθικλμνξοπρσςτυφχψω",
                  ["a", "v", "g", "d", "e", "z", "i", "th", "i", "k", "l", "m", "n", "x", "o",
                   "p", "r", "s", "s", "t", "y", "f", "ch", "ps", "o"], strict=True))
_CYRILLIC = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґў",
                     ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m",
                      "n", "o", "p", "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch",
                      "", "y", "", "e", "yu", "ya", "i", "yi", "ye", "g", "u"], strict=True))
_TABLE = {**_LATIN, **_GREEK, **_CYRILLIC}


def transliterate(text: str) -> str:
    """`text` in lower-case ASCII, as far as it has a Latin reading; other letters dropped."""
    out = []
    for char in unicodedata.normalize("NFC", text).casefold():
        if char in _TABLE:  # before NFKD: "й" reads "y", not "i" + a breve
            out.append(_TABLE[char])
            continue
        # NFKD splits "é" into "e" + a combining accent (and "ﬁ" into "fi"); the accents go.
        for part in unicodedata.normalize("NFKD", char):
            if not unicodedata.combining(part):
                out.append(_TABLE.get(part) or part.encode("ascii", "ignore").decode())
    return "".join(out)


def readable_id(name: str, *, prefix: str = "m", limit: int = 24) -> str:
    """An id the loader accepts, read from `name`; a short hash when nothing Latin is left.

    "Zoë Ångström" → "zoe-angstrom", "Søren Kierkegaard" → "soren-kierkegaard",
    "Дмитрий" → "dmitriy", "美咲" → "m-" + 4 hex digits of the name's hash.
    """
    words = re.sub(r"[^a-z0-9]+", "-", transliterate(name)).strip("-")
    words = words[:limit].rstrip("-")
    if words:
        return words
    digest = hashlib.sha256(unicodedata.normalize("NFC", name.strip()).encode()).hexdigest()
    return f"{prefix}-{digest[:4]}"
