"""Properties of the personal-data screen: what is personal is found, what the product publishes is not.

Phone numbers, BSNs, IBANs and e-mail addresses are generated in the forms people write them; the
BSN's eleven-test and the IBAN's check digits are computed here with plain Python integers, so the
module's vectorised checks are compared with an independent reference. Breakdown frames for
`group_rare` are random and compared with a plain-Python reference of the rule.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import string
from collections import defaultdict

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core.privacy import (
    BSN,
    EMAILADRES,
    IBAN,
    RARE_LABEL,
    TELEFOONNUMMER,
    group_rare,
    mask,
    personal_kind,
    personal_kinds,
    screen,
    screen_messages,
    screen_names,
    screen_series,
)

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
FAST = settings(max_examples=200, deadline=None)
SLOW = settings(max_examples=60, deadline=None)
# The screen is a vectorised expression: one call costs some 8 ms, a value in a call 0.03 ms. The
# properties below check their values a batch at a time, 20 batches of 10 to 20 values (200 to 400
# values, where FAST drew 200 one at a time); a failing batch shrinks to its failing values.
BATCHES = settings(max_examples=20, deadline=None)


def batches(*values: st.SearchStrategy[object]) -> st.SearchStrategy[list[tuple[object, ...]]]:
    return st.lists(st.tuples(*values), min_size=10, max_size=20)


def kind_of(text: str | None) -> str | None:
    return personal_kinds(pl.Series([text], dtype=pl.String))[0]


def misjudged(texts: list[str], expected: list[str | None] | str | None) -> list[tuple[str, str | None]]:
    """The texts (with the kind found) whose kind is not the expected one (one for all, or one each)."""
    wanted = expected if isinstance(expected, list) else [expected] * len(texts)
    found = personal_kinds(pl.Series(texts, dtype=pl.String)).to_list()
    return [(text, kind) for text, kind, want in zip(texts, found, wanted, strict=True) if kind != want]


# ---------------------------------------------------------------------------------------------
# Strategies: personal data as people write it
# ---------------------------------------------------------------------------------------------

_digit = st.sampled_from(string.digits)
_nonzero = st.sampled_from("123456789")
_sep = st.sampled_from([" ", "-", ".", "/", " - ", "\u00a0", "\u2013"])  # no-break space, en dash
# Text around a value: nothing, padding, or words on either side.
_before = st.sampled_from(["", " ", "  ", "bel ", "tel: ", "tel. ", "nummer ", "(", "mail naar ", "bsn "])
_after = st.sampled_from(["", " ", "\t", " terug", ", graag", ".", ")", " s.v.p.", "; spoed"])


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.lists(_digit, min_size=n, max_size=n).map("".join)


def _grouped(digits: str, sizes: list[int], sep: str) -> str:
    out, at = [], 0
    for size in sizes:
        out.append(digits[at : at + size])
        at += size
    out.append(digits[at:])
    return sep.join(part for part in out if part)


@st.composite
def dutch_phone(draw: st.DrawFn) -> str:
    """A Dutch number in one of the national or +31/0031 forms the agreement's suppliers use."""
    area = draw(
        st.one_of(
            st.just("6"),  # mobile
            st.tuples(st.sampled_from("1234578"), _digit).map("".join),  # 030, 010, 020, ...
            st.tuples(st.sampled_from("1234578"), _digit, _digit).map("".join),  # 0346, ...
        )
    )
    rest = draw(_digits(9 - len(area)))
    national = "0" + area
    form = draw(st.integers(0, 11))
    if form == 0:
        return national + rest
    if form == 1:
        return national + draw(_sep) + rest
    if form == 2:  # 06 1234 5678, 030 123 4567
        return national + " " + _grouped(rest, [len(rest) - 4], " ")
    if form == 3:  # 06-123 45 678, 030-123 45 67
        return national + "-" + _grouped(rest, [3, 2], " ")
    if form == 4:  # (030) 123 45 67
        return f"({national}) " + _grouped(rest, [3, 2], " ")
    if form == 5:  # 06-12 34 56 78 and such: groups of two
        return national + draw(_sep) + _grouped(rest, [2, 2, 2], draw(st.sampled_from([" ", "-", "."])))
    if form == 6:
        return "+31" + area + rest
    if form == 7:
        return "+31 " + area + " " + rest
    if form == 8:
        return "+31 (0)" + area + " " + rest
    if form == 9:
        return "0031" + area + rest
    if form == 10:
        return "0031 " + area + " " + _grouped(rest, [3], " ")
    return "+31-" + area + "-" + rest


@st.composite
def international_phone(draw: st.DrawFn) -> str:
    """+ or 00, a country code, a number of 8-15 digits in all, grouped with the usual separators."""
    country = draw(st.sampled_from(["1", "7", "32", "33", "44", "49", "90", "212", "351", "353", "971"]))
    total = draw(st.integers(max(8, len(country) + 5), 15))
    national = draw(_nonzero) + draw(_digits(total - len(country) - 1))
    prefix = draw(st.sampled_from(["+", "00"]))
    form = draw(st.integers(0, 4))
    if form == 0:
        return prefix + country + national
    sep = draw(st.sampled_from([" ", "-", ".", "/"]))
    sizes = draw(st.lists(st.integers(2, 4), min_size=1, max_size=4))
    body = _grouped(national, sizes, sep)
    if form == 1:  # +44 20 7946 0958, +1-202-555-0143
        return prefix + country + sep + body
    if form == 2:  # +49 (0)30 123456
        return prefix + country + " (0)" + body
    if form == 3:  # +1 (202) 555-0143
        return f"{prefix}{country} ({national[:3]}) " + _grouped(national[3:], [3], "-")
    return prefix + " " + country + " " + body


def eleven_sum(digits: str) -> int:
    """9*d1 + 8*d2 + ... + 2*d8 - 1*d9 of a 9-digit string."""
    return sum((9 - i) * int(d) for i, d in enumerate(digits[:8])) - int(digits[8])


def passes_eleven_test(digits: str) -> bool:
    digits = digits.zfill(9)
    return len(digits) == 9 and eleven_sum(digits) % 11 == 0 and digits != "0" * 9


def _check_digit(first: str) -> int:
    return sum((9 - i) * int(d) for i, d in enumerate(first)) % 11


@st.composite
def bsn_digits(draw: st.DrawFn) -> str:
    """Nine digits constructed to pass the eleven-test."""
    # A filter draws again where `assume` would reject the whole example: a batch of 20 BSNs would
    # then be rejected three times in four.
    first = draw(_digits(8).filter(lambda f: _check_digit(f) != 10 and f != "0" * 8))
    digits = first + str(_check_digit(first))
    assert passes_eleven_test(digits)
    return digits


def write_bsn(digits: str, form: int) -> str:
    """A BSN's nine digits in one of the ways it is written (8-digit forms when it starts with 0)."""
    if digits[0] == "0" and form >= 4:
        short = digits[1:]
        return [short, short[:3] + "." + short[3:5] + "." + short[5:], short[:2] + " " + short[2:5] + " " + short[5:]][
            form % 3
        ]
    return [
        digits,
        digits[:4] + "." + digits[4:6] + "." + digits[6:],
        digits[:3] + "." + digits[3:6] + "." + digits[6:],
        digits[:3] + " " + digits[3:6] + " " + digits[6:],
        digits,
        digits[:4] + " " + digits[4:6] + " " + digits[6:],
    ][form % 6]


def iban_check_digits(country: str, bban: str) -> str:
    """ISO 13616 check digits, with Python's own big integers."""
    number = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    return f"{98 - number % 97:02d}"


def iban_is_valid(iban: str) -> bool:
    compact = iban.replace(" ", "").upper()
    return int("".join(str(int(c, 36)) for c in compact[4:] + compact[:4])) % 97 == 1


@st.composite
def iban(draw: st.DrawFn) -> str:
    country = draw(st.sampled_from(["NL", "DE", "GB", "BE", "FR", "NO", "MT", "LC"]))
    bban = draw(st.text(string.ascii_uppercase + string.digits, min_size=11, max_size=30))
    compact = country + iban_check_digits(country, bban) + bban
    assert iban_is_valid(compact)
    if draw(st.booleans()):
        return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
    return compact


_name = st.text(string.ascii_lowercase + "éëçö", min_size=1, max_size=10)
_domain = st.lists(st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=8), min_size=1, max_size=3)
people_email = st.builds(
    lambda a, b, tag, labels, tld: f"{a}.{b}{tag}@{'.'.join(labels)}.{tld}",
    _name,
    _name,
    st.sampled_from(["", "+x", "+nieuwsbrief", "1990"]),
    _domain,
    st.sampled_from(["nl", "com", "org", "amsterdam", "co.uk"]),
)


# ---------------------------------------------------------------------------------------------
# personal_kind
# ---------------------------------------------------------------------------------------------

LISTED_PHONES = [
    "0612345678",
    "06-12345678",
    "06 1234 5678",
    "06-123 45 678",
    "030-1234567",
    "030 123 4567",
    "(030) 123 45 67",
    "0346-123456",
    "+31612345678",
    "+31 6 12345678",
    "+31 (0)6 12345678",
    "0031612345678",
    "0031 30 123 4567",
    "+44 20 7946 0958",
    "+1-202-555-0143",
    "+49 (0)30 123456",
    "0044 20 7946 0958",
    "bel 06-12345678 terug",
    "06\u201312345678",  # en dash
    "06\u00a01234\u00a05678",  # no-break spaces
    "0302860000",
    "030-2860000",
]

LEGITIMATE = [
    "14030",
    "14 030",
    "2020-03-16T09:14:03+01:00",
    "2020-03-16T08:14:03Z",
    "2019-12-31 23:30:00+0100",
    "2020-03-16T09:14:03.123456789+01:00",
    "16-03-2020",
    "2020-02-30",
    "06-03-2020 09:14",
    "09:14",
    "25:70",
    "42",
    "-12",
    "42s",
    "3600",
    "2020-0001234",
    "A2020-0000123",
    "2017-90000012",
    "gesprek-17",
    "Stadskantoor",
    "Wijkservicecentrum Vleuten-De Meern",
    "Paspoort",
    "Rijbewijs; spoedaanvraag",
    "Werk en Inkomen",
    "beantwoord",
    "niet verschenen",
    "Amersfoort",
    "4.2",
    "",
    "   ",
]


@pytest.mark.parametrize("value", LISTED_PHONES)
def test_listed_phone_numbers_are_flagged(value: str) -> None:
    assert kind_of(value) == TELEFOONNUMMER


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("a.b@example.com", EMAILADRES),
        ("zoe.celik+x@sub.example.org", EMAILADRES),
        ("123456782", BSN),
        ("1234.56.782", BSN),
        ("bsn: 123 456 782.", BSN),
        ("NL91ABNA0417164300", IBAN),
        ("NL91 ABNA 0417 1643 00", IBAN),
        ("nl91abna0417164300", IBAN),
        ("DE89370400440532013000", IBAN),
        ("GB82 WEST 1234 5698 7654 32", IBAN),
        # What a spreadsheet makes of a phone number: leading zeros and + dropped.
        ("612345678", TELEFOONNUMMER),
        ("31612345678", TELEFOONNUMMER),
        ("tel+31612345678", TELEFOONNUMMER),
    ],
)
def test_listed_personal_values_are_flagged(value: str, kind: str) -> None:
    assert kind_of(value) == kind
    assert kind_of(f"  zie {value} graag ") == kind


@pytest.mark.parametrize("value", LEGITIMATE)
def test_listed_legitimate_values_are_not_flagged(value: str) -> None:
    assert kind_of(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "1584346443",  # a 10-digit number not starting with 0 (Unix time): not a Dutch phone number
        "302860000",  # a landline without its 0 cannot be told from other 9-digit numbers
        "123456789",  # 9 digits failing the eleven-test
        "12345678901234",  # a long id
        "NL91 ABNA 0417 1643 01",  # an IBAN with a typo: judged as an IBAN only, not as 0417 1643 01
        "2020-123456782",  # joined to another number: part of an id, not a BSN on its own
        "A123456782",  # glued to a letter
        "0000123456",  # Dutch numbers never start with 00
    ],
)
def test_the_documented_digit_runs_are_not_flagged(value: str) -> None:
    assert kind_of(value) is None


def test_null_and_kind_precedence() -> None:
    assert kind_of(None) is None
    assert kind_of("bel 0612345678 of mail a@b.nl") == EMAILADRES
    assert kind_of("NL91ABNA0417164300 t.n.v. 0612345678") == IBAN
    assert kind_of("0612345678 / 123456782") == TELEFOONNUMMER
    assert kind_of("612345678 of 123456782") == BSN


@BATCHES
@given(batches(dutch_phone(), _before, _after))
def test_dutch_phone_numbers_are_flagged(cases: list[tuple[str, str, str]]) -> None:
    assert misjudged([before + number + after for number, before, after in cases], TELEFOONNUMMER) == []


@BATCHES
@given(batches(international_phone(), _before, _after))
def test_international_phone_numbers_are_flagged(cases: list[tuple[str, str, str]]) -> None:
    assert misjudged([before + number + after for number, before, after in cases], TELEFOONNUMMER) == []


@BATCHES
@given(batches(bsn_digits(), st.integers(0, 5), _before, _after))
def test_valid_bsns_are_flagged(cases: list[tuple[str, int, str, str]]) -> None:
    assert misjudged([before + write_bsn(digits, form) + after for digits, form, before, after in cases], BSN) == []


def _judged_by_the_eleven_test(digits: str, form: int, position: int, shift: int) -> tuple[str, str | None]:
    """A BSN with one digit changed, written in `form`, and the kind it is."""
    changed = digits[:position] + str((int(digits[position]) + shift) % 10) + digits[position + 1 :]
    written = write_bsn(changed, form)
    if passes_eleven_test(changed):
        return written, BSN
    if re.fullmatch(r"6\d{8}", written):  # a mobile number without its 0
        return written, TELEFOONNUMMER
    return written, None


@BATCHES
@given(batches(bsn_digits(), st.integers(0, 5), st.integers(0, 8), st.integers(1, 9)))
def test_a_bsn_with_a_changed_digit_is_judged_by_the_eleven_test(cases: list[tuple[str, int, int, int]]) -> None:
    written, expected = zip(*(_judged_by_the_eleven_test(*case) for case in cases), strict=True)
    assert misjudged(list(written), list(expected)) == []


@BATCHES
@given(batches(iban(), _before, _after))
def test_valid_ibans_are_flagged(cases: list[tuple[str, str, str]]) -> None:
    assert misjudged([before + account + after for account, before, after in cases], IBAN) == []
    assert misjudged([account.lower() for account, _, _ in cases], IBAN) == []


@st.composite
def _iban_with_a_changed_digit(draw: st.DrawFn) -> str:
    account = draw(iban())
    position = draw(st.sampled_from([i for i, c in enumerate(account) if c.isdigit()]))
    digit = draw(st.sampled_from([d for d in string.digits if d != account[position]]))
    return account[:position] + digit + account[position + 1 :]


@BATCHES
@given(batches(_iban_with_a_changed_digit()))
def test_an_iban_with_a_changed_digit_is_not_flagged(cases: list[tuple[str]]) -> None:
    changed = [account for (account,) in cases]
    assert [account for account in changed if iban_is_valid(account)] == []  # mod 97 catches every substitution
    assert misjudged(changed, None) == []
    assert misjudged([f"rekening {account} graag" for account in changed], None) == []


@BATCHES
@given(batches(st.one_of(st.emails(), people_email), _before, _after))
def test_email_addresses_are_flagged(cases: list[tuple[str, str, str]]) -> None:
    assert misjudged([before + address + after for address, before, after in cases], EMAILADRES) == []


_instant = st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2040, 12, 31))
_offset = st.sampled_from(["+01:00", "+02:00", "Z", "+0100", "-05:00", ""])
legitimate_value = st.one_of(
    st.builds(lambda t, o: t.isoformat(timespec="seconds") + o, _instant, _offset),
    st.builds(lambda t, o: t.isoformat(sep=" ", timespec="seconds") + o, _instant, _offset),
    st.builds(lambda t, o: t.isoformat() + o, _instant, _offset),
    st.builds(lambda t: t.strftime("%d-%m-%Y"), _instant),
    st.builds(lambda t: t.strftime("%d-%m-%Y %H:%M"), _instant),
    st.builds(lambda y, m, d: f"{y}-{m:02d}-{d:02d}", st.integers(1900, 2100), st.integers(1, 12), st.integers(1, 31)),
    st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 99), st.integers(0, 99)),
    st.integers(-9_999_999, 9_999_999).map(str),
    st.integers(0, 9_999_999).map(lambda n: f"{n}s"),
    st.builds(lambda y, n: f"{y}-{n:07d}", st.integers(2000, 2030), st.integers(0, 9_999_999)),
    st.builds(lambda y, n: f"A{y}-{n:07d}", st.integers(2000, 2030), st.integers(0, 9_999_999)),
    st.builds(lambda y, n: f"{y}-{n:08d}", st.integers(2000, 2030), st.integers(0, 99_999_999)),
    st.integers(0, 10**6).map(lambda n: f"gesprek-{n}"),
    st.builds(lambda a, b: f"{a}.{b}", st.integers(0, 99), st.integers(0, 99)),
    st.sampled_from([v for v in LEGITIMATE if v.strip()]),
)


@BATCHES
@given(batches(legitimate_value))
def test_legitimate_values_are_never_flagged(cases: list[tuple[str]]) -> None:
    assert misjudged([value for (value,) in cases], None) == []


def test_personal_kind_is_an_expression_eager_lazy_and_streaming() -> None:
    values = [*LISTED_PHONES, *LEGITIMATE, "123456782", None]
    frame = pl.DataFrame({"waarde": values})
    eager = frame.select(personal_kind(pl.col("waarde"))).to_series().to_list()
    streamed = frame.lazy().select(personal_kind(pl.col("waarde"))).collect(engine="streaming").to_series()
    assert eager == personal_kinds(frame["waarde"]).to_list() == streamed.to_list()
    assert eager[: len(LISTED_PHONES)] == [TELEFOONNUMMER] * len(LISTED_PHONES)


# ---------------------------------------------------------------------------------------------
# mask and screen
# ---------------------------------------------------------------------------------------------


def masked(values: list[str | None], kinds: list[str | None], key: bytes) -> list[str | None]:
    frame = pl.DataFrame({"v": values, "k": kinds}, schema={"v": pl.String, "k": pl.String})
    return frame.select(mask(pl.col("v"), pl.col("k"), key)).to_series().to_list()


# Text without the control characters that are whitespace to Python's strip but not to Polars' (\x1c-\x1f).
_text = st.text(st.characters(codec="utf-8", exclude_characters="\x1c\x1d\x1e\x1f"), min_size=1)


@FAST
@given(_text.filter(lambda s: s.strip() != ""), st.sampled_from([TELEFOONNUMMER, BSN, IBAN, EMAILADRES]))
def test_mask_is_the_kind_and_a_keyed_hash_of_the_trimmed_value(value: str, kind: str) -> None:
    expected = f"[{kind} #{hmac.new(KEY, value.strip().encode(), hashlib.sha256).hexdigest()[:12]}]"
    first, padded, again = masked([value, f"  {value} ", value], [kind] * 3, KEY)
    assert first == padded == again == expected
    assert masked([value], [kind], OTHER_KEY)[0] != first
    assert re.fullmatch(r"\[[a-z-]+ #[0-9a-f]{12}\]", first)


def test_mask_is_null_where_the_kind_is_null() -> None:
    assert masked(["Paspoort", None, "0612345678"], [None, None, TELEFOONNUMMER], KEY)[:2] == [None, None]


def test_screen_masks_personal_values_and_keeps_the_rest() -> None:
    values = ["0612345678", " 06-12345678 ", "0612345678", "Paspoort", None, "", "bel 123456782", "0687654321"]
    frame = pl.DataFrame({"waarde": values})
    out = frame.with_columns(screen(pl.col("waarde"), KEY).alias("scherm"))["scherm"].to_list()
    assert out[0] == out[2] != out[1] != out[7]  # the same number twice, differently written ones differ
    assert out[0].startswith("[telefoonnummer #") and out[6].startswith("[bsn #")
    assert out[3:6] == ["Paspoort", None, ""]
    assert out == screen_series(frame["waarde"], KEY).to_list()
    lazy = frame.lazy().select(screen(pl.col("waarde"), KEY)).collect(engine="streaming")["waarde"].to_list()
    assert lazy == out


@SLOW
@given(st.lists(st.one_of(dutch_phone(), bsn_digits(), iban(), people_email, legitimate_value), max_size=30))
def test_screen_leaves_no_personal_value_in_clear(values: list[str]) -> None:
    out = screen_series(pl.Series(values, dtype=pl.String), KEY)
    kinds = personal_kinds(pl.Series(values, dtype=pl.String))
    for value, kind, shown in zip(values, kinds, out, strict=True):
        assert shown == value if kind is None else shown.startswith(f"[{kind} #")
    assert personal_kinds(out).null_count() == len(values)  # a mask is not personal itself


# ---------------------------------------------------------------------------------------------
# BSNs written in groups: hyphens, dots, spaces
# ---------------------------------------------------------------------------------------------

_GROUPINGS = ([3, 3], [4, 2])  # 111-222-333, 1112-22-333
_BSN_SEPARATORS = ["-", ".", " ", "\u00a0", "\u2010", "\u2013"]


def group_bsn(digits: str, grouping: list[int], separator: str) -> str:
    return _grouped(digits, grouping, separator)


@BATCHES
@given(batches(bsn_digits(), st.sampled_from(_GROUPINGS), st.sampled_from(_BSN_SEPARATORS), _before, _after))
def test_bsns_in_groups_are_flagged_whatever_the_separator(cases: list[tuple[str, list[int], str, str, str]]) -> None:
    written = [group_bsn(digits, grouping, separator) for digits, grouping, separator, _, _ in cases]
    texts = [before + bsn + after for bsn, (_, _, _, before, after) in zip(written, cases, strict=True)]
    assert misjudged(texts, BSN) == []
    shown = screen_series(pl.Series(texts, dtype=pl.String), KEY).to_list()
    assert [bsn for bsn, out in zip(written, shown, strict=True) if bsn in out] == []


@BATCHES
@given(batches(_digits(9), st.sampled_from(_GROUPINGS), st.sampled_from(_BSN_SEPARATORS)))
def test_nine_digits_in_groups_are_a_bsn_exactly_when_they_pass_the_eleven_test(
    cases: list[tuple[str, list[int], str]],
) -> None:
    written = [group_bsn(digits, grouping, separator) for digits, grouping, separator in cases]
    kinds = personal_kinds(pl.Series(written, dtype=pl.String)).to_list()
    judged = [((kind == BSN), passes_eleven_test(digits)) for kind, (digits, _, _) in zip(kinds, cases, strict=True)]
    assert [text for text, (bsn, passes) in zip(written, judged, strict=True) if bsn != passes] == []


@BATCHES
@given(batches(bsn_digits(), st.sampled_from(_GROUPINGS), st.sampled_from(["-", "."]), _digits(2)))
def test_a_bsn_shape_joined_to_another_number_is_not_a_bsn(cases: list[tuple[str, list[int], str, str]]) -> None:
    joined = []
    for digits, grouping, separator, more in cases:
        written = group_bsn(digits, grouping, separator)
        joined += [f"{more}{separator}{written}", f"{written}{separator}{more}"]
    kinds = personal_kinds(pl.Series(joined, dtype=pl.String)).to_list()
    assert [text for text, kind in zip(joined, kinds, strict=True) if kind == BSN] == []


def test_the_issues_bsn_written_with_hyphens_dots_and_spaces() -> None:
    for written in ("111-222-333", "111 222 333", "1112.22.333", "1112-22-333", "wachtrij 111-222-333"):
        assert kind_of(written) == BSN, written


# ---------------------------------------------------------------------------------------------
# Names: paths and header names
# ---------------------------------------------------------------------------------------------

_word = st.text(string.ascii_lowercase, min_size=1, max_size=8)
_export_day = st.dates(min_value=dt.date(2017, 1, 1), max_value=dt.date(2029, 12, 31)).map(lambda d: f"{d:%Y%m%d}")
_personal = st.one_of(dutch_phone(), bsn_digits(), people_email)


def _path_with(source: str, day: str, folders: list[str], value: str, words: list[str], where: str) -> str:
    """A delivery's path with a personal value in its suffix or in a folder."""
    value = value.replace("/", "-")  # a name holds no slash
    suffix = "_".join([*words, value]) if where == "suffix" else "_".join(words)
    name = f"{source}_{day}{'_' + suffix if suffix else ''}.csv"
    return "/".join([source, *folders, *([value] if where == "folder" else []), name])


@pytest.mark.slow
@BATCHES
@given(
    batches(
        st.sampled_from(["telefonie", "afspraken", "zaken"]),
        _export_day,
        st.lists(_word, max_size=2),
        _personal,
        st.lists(_word, max_size=2),
        st.sampled_from(["suffix", "folder"]),
    )
)
def test_a_personal_value_in_a_path_is_masked_and_the_delivery_stays_recognisable(
    cases: list[tuple[str, str, list[str], str, list[str], str]],
) -> None:
    paths = [_path_with(*case) for case in cases]
    screened = screen_names(paths, KEY)
    for path, (source, day, _, value, _, _) in zip(paths, cases, strict=True):
        shown = screened[path]
        assert value.replace("/", "-") not in shown
        assert shown.startswith(f"{source}/") and shown.endswith(".csv")
        assert f"/{source}_{day}" in shown  # its source and export day stay readable
        assert re.search(r"\[(telefoonnummer|bsn|e-mailadres) #[0-9a-f]{12}\]", shown)
    shown_twice = screen_names(list(screened.values()), KEY)
    assert [s for s in screened.values() if shown_twice[s] != s] == []  # screening twice changes nothing more


@pytest.mark.slow
@BATCHES
@given(
    batches(
        st.sampled_from(["telefonie", "afspraken"]),
        _export_day,
        st.lists(st.one_of(_word, _export_day, _export_day.map(lambda d: "v" + d)), max_size=3),
        st.sampled_from(["", "."]),
    )
)
def test_a_path_without_personal_data_is_shown_as_it_is(cases: list[tuple[str, str, list[str], str]]) -> None:
    # days yyyymmdd (an export day, a correction's) pass the eleven-test one time in eleven: no BSN here
    paths = [
        f"{source}/2020/{hidden}{source}_{day}{''.join('_' + w for w in words)}.csv"
        for source, day, words, hidden in cases
    ]
    assert screen_names(paths, KEY) == {path: path for path in paths}


def test_header_names_and_messages_are_screened() -> None:
    assert screen_names(["notitie", "x@y.nl", "tel0612345678"], KEY) == {
        "notitie": "notitie",
        "x@y.nl": mask_of("x@y.nl", EMAILADRES),
        "tel0612345678": mask_of("tel0612345678", TELEFOONNUMMER),
    }
    message = "column 'x@y.nl' appears twice in the header"
    assert (
        screen_messages([message], KEY)[message]
        == f"column '{mask_of('x@y.nl', EMAILADRES)}' appears twice in the header"
    )
    screened = screen_messages([message], KEY)[message]
    assert screen_messages([screened], KEY) == {screened: screened}  # a mask is kept as it is
    plain = "3 of 60 rows invalid (5.0%), more than the allowed 5.0%"
    assert screen_messages([plain], KEY) == {plain: plain}


def mask_of(value: str, kind: str) -> str:
    return f"[{kind} #{hmac.new(KEY, value.encode(), hashlib.sha256).hexdigest()[:12]}]"


# ---------------------------------------------------------------------------------------------
# group_rare
# ---------------------------------------------------------------------------------------------

QUEUES = ["Algemeen", "Paspoort", "Belastingen", "Parkeren", "Zoë de Vries", RARE_LABEL, None]
OUTCOMES = ["beantwoord", "opgehangen", "doorgeschakeld", None]
_day = st.dates(min_value=dt.date(2019, 12, 25), max_value=dt.date(2020, 1, 6)) | st.dates(
    min_value=dt.date(2020, 6, 1), max_value=dt.date(2020, 6, 3)
)


@st.composite
def breakdowns(draw: st.DrawFn) -> pl.DataFrame:
    """A breakdown at grain (datum, wachtrij, afhandeling, kanaal) with a count and a sum."""
    rows = draw(
        st.lists(
            st.tuples(
                _day,
                st.sampled_from(QUEUES),
                st.sampled_from(OUTCOMES),
                st.sampled_from(["telefoon", "chat"]),
                st.integers(1, 20),
                st.integers(0, 5000),
            ),
            max_size=60,
        )
    )
    frame = pl.DataFrame(
        rows,
        schema={
            "datum": pl.Date,
            "wachtrij": pl.String,
            "afhandeling": pl.String,
            "kanaal": pl.String,
            "aantal": pl.Int64,
            "wachttijd_s_totaal": pl.Int64,
        },
        orient="row",
    )
    return frame.group_by("datum", "wachtrij", "afhandeling", "kanaal").agg(
        pl.col("aantal", "wachttijd_s_totaal").sum()
    )


def reference_group_rare(
    frame: pl.DataFrame, text_columns: list[str], threshold: int, period: str | None
) -> pl.DataFrame:
    """The rule, row by row in plain Python."""
    measures = ["aantal", "wachttijd_s_totaal"]
    keys = [c for c in frame.columns if c not in measures]
    rows = frame.to_dicts()

    def period_of(row: dict[str, object]) -> object:
        day = row["datum"]
        assert isinstance(day, dt.date) or period is not None
        return row[period] if period is not None else day.year  # type: ignore[union-attr]

    totals: dict[tuple[str, object, object], int] = defaultdict(int)
    for row in rows:
        for column in text_columns:
            totals[column, period_of(row), row[column]] += row["aantal"]  # type: ignore[operator]
    merged: dict[tuple[object, ...], list[int]] = {}
    for row in rows:
        for column in text_columns:
            value = row[column]
            if value is not None and value != RARE_LABEL and totals[column, period_of(row), value] < threshold:
                row[column] = RARE_LABEL
        sums = merged.setdefault(tuple(row[k] for k in keys), [0, 0])
        sums[0] += row["aantal"]  # type: ignore[operator]
        sums[1] += row["wachttijd_s_totaal"]  # type: ignore[operator]
    out = [dict(zip(keys, k, strict=True)) | dict(zip(measures, v, strict=True)) for k, v in merged.items()]
    return pl.DataFrame(out, schema=frame.schema).sort(keys, nulls_last=True)


@SLOW
@given(breakdowns(), st.integers(0, 40), st.sampled_from([["wachtrij"], ["wachtrij", "afhandeling"]]))
def test_group_rare_suppresses_small_cells_and_keeps_the_totals(
    frame: pl.DataFrame, threshold: int, text_columns: list[str]
) -> None:
    out = group_rare(frame, text_columns, threshold, sum_columns=["wachttijd_s_totaal"])
    assert out.schema == frame.schema
    # The grain stays unique.
    keys = ["datum", "wachtrij", "afhandeling", "kanaal"]
    assert out.select(keys).is_duplicated().sum() == 0
    # Totals per day, and per day and any column that is not screened, are unchanged.
    for by in (["datum"], ["datum", "kanaal"], ["datum", *[k for k in ["afhandeling"] if k not in text_columns]]):
        before = frame.group_by(by).agg(pl.col("aantal", "wachttijd_s_totaal").sum()).sort(by)
        after = out.group_by(by).agg(pl.col("aantal", "wachttijd_s_totaal").sum()).sort(by)
        assert before.equals(after)
    # No value below the threshold in a year survives; every other value keeps its total; null stays null.
    for column in text_columns:
        yearly = out.group_by(pl.col("datum").dt.year(), column).agg(pl.col("aantal").sum())
        survivors = yearly.filter(pl.col(column).is_not_null() & (pl.col(column) != RARE_LABEL))
        assert (survivors["aantal"] >= threshold).all()
        original = frame.group_by(pl.col("datum").dt.year(), column).agg(pl.col("aantal").sum())
        kept = original.filter(pl.col(column).is_null() | (pl.col("aantal") >= threshold))
        assert kept.join(yearly, on=["datum", column], how="anti", nulls_equal=True).is_empty()
        assert (
            frame[column].null_count() == 0
            or out.filter(pl.col(column).is_null())["aantal"].sum()
            == frame.filter(pl.col(column).is_null())["aantal"].sum()
        )
    assert out.equals(reference_group_rare(frame, text_columns, threshold, None))


@SLOW
@given(breakdowns(), st.integers(0, 40))
def test_group_rare_on_a_frame_with_a_year_column(frame: pl.DataFrame, threshold: int) -> None:
    yearly = (
        frame.with_columns(pl.col("datum").dt.year().alias("jaar"))
        .group_by("jaar", "wachtrij", "afhandeling", "kanaal")
        .agg(pl.col("aantal", "wachttijd_s_totaal").sum())
        .select("jaar", "wachtrij", "afhandeling", "kanaal", "aantal", "wachttijd_s_totaal")
    )
    out = group_rare(yearly, ["wachtrij"], threshold, period_column="jaar", sum_columns=["wachttijd_s_totaal"])
    assert out.select("jaar", "wachtrij", "afhandeling", "kanaal").is_duplicated().sum() == 0
    assert (
        out.group_by("jaar")
        .agg(pl.col("aantal").sum())
        .sort("jaar")
        .equals(yearly.group_by("jaar").agg(pl.col("aantal").sum()).sort("jaar"))
    )
    survivors = out.filter(pl.col("wachtrij").is_not_null() & (pl.col("wachtrij") != RARE_LABEL))
    assert (survivors.group_by("jaar", "wachtrij").agg(pl.col("aantal").sum())["aantal"] >= threshold).all()
    # The same as suppressing the daily table and then adding up the days.
    daily = group_rare(frame, ["wachtrij"], threshold, sum_columns=["wachttijd_s_totaal"])
    from_daily = (
        daily.with_columns(pl.col("datum").dt.year().alias("jaar"))
        .group_by("jaar", "wachtrij", "afhandeling", "kanaal")
        .agg(pl.col("aantal", "wachttijd_s_totaal").sum())
        .select(out.columns)
        .sort("jaar", "wachtrij", "afhandeling", "kanaal", nulls_last=True)
    )
    assert out.equals(from_daily)


def test_group_rare_example() -> None:
    day1, day2, next_year = dt.date(2020, 3, 16), dt.date(2020, 3, 17), dt.date(2021, 1, 4)
    frame = pl.DataFrame(
        {
            "datum": [day1, day1, day1, day2, day2, next_year],
            "wachtrij": ["Algemeen", "0612345678", "Zoë", "Algemeen", None, "Algemeen"],
            "aantal": [10, 1, 2, 5, 3, 4],
        }
    )
    out = group_rare(frame, ["wachtrij"], 5)
    assert out.to_dicts() == [
        {"datum": day1, "wachtrij": "(zelden)", "aantal": 3},
        {"datum": day1, "wachtrij": "Algemeen", "aantal": 10},
        {"datum": day2, "wachtrij": "Algemeen", "aantal": 5},
        {"datum": day2, "wachtrij": None, "aantal": 3},
        {"datum": next_year, "wachtrij": "(zelden)", "aantal": 4},  # 4 in 2021: rare in that year
    ]
