"""Any file name as text: valid UTF-8 without control characters, for messages and for storing in a
database; different names never show the same."""

from __future__ import annotations

import os
import re

_SHORT_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
# Characters that change how text around them is laid out: line and paragraph separators and the
# bidirectional controls ("Trojan Source"). Valid UTF-8, but not shown as they are in a message.
_LAYOUT_CONTROLS = frozenset("\u2028\u2029\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

# Every character `_shown_char` changes; the rest of a name is kept as it is (fast for plain names).
_ESCAPED = re.compile(r"[\\\x00-\x1f\x7f-\x9f\ud800-\udfff" + "".join(sorted(_LAYOUT_CONTROLS)) + "]")


def _shown_char(char: str) -> str:
    code = ord(char)
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8 (surrogateescape); always >= 0x80
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02x}"
    if 0x80 <= code <= 0x9F or 0xD800 <= code <= 0xDFFF or char in _LAYOUT_CONTROLS:
        return f"\\u{code:04x}"
    return char


def shown(path: str | bytes) -> str:
    """`path` as text for messages and a UTF-8 database: valid UTF-8 unchanged, except that a
    backslash is doubled, every byte that is not UTF-8 is shown as `\\xNN` (lower-case hex),
    control characters as `\\n`, `\\t`, `\\r`, `\\xNN` (C0, DEL) or `\\uNNNN` (C1, line and paragraph
    separators, bidirectional controls). The result always encodes as UTF-8, holds no control
    character, and two different names never show the same (every escape starts with a backslash
    and a backslash itself is escaped).

    A `str` is taken as `os.fsdecode` gives it (undecodable bytes as lone surrogates)."""
    if isinstance(path, str):
        try:
            raw = os.fsencode(path)
        except UnicodeEncodeError:  # a lone surrogate that did not come from a byte
            raw = path.encode("utf-8", "surrogatepass")
    else:
        raw = bytes(path)
    return _ESCAPED.sub(lambda m: _shown_char(m.group()), raw.decode("utf-8", "surrogateescape"))
