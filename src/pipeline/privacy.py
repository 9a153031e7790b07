"""Keep personal data out of what is published, even when a supplier puts it in the wrong column.

The readers hash or drop the columns the agreement names as personal (`beller`, `bsn`, ...). This
module guards the other way in: text that is published as given (a quarantined `waarde`, a queue,
location or product in a breakdown) but happens to hold a phone number, e-mail address, BSN or
IBAN, because a header was swapped or someone typed it into the wrong field.

- `personal_kind`: which kind of personal data a text looks like (or null), found anywhere in it.
- `mask`: the kind plus a short keyed hash, so equal values stay recognisably equal.
- `screen`: the value itself when it is not personal, else its mask.
- `group_rare`: small-cell suppression of a breakdown: text values that are rare within a year
  become one label, so a breakdown cannot single out a person by an unusual value.

All detection is vectorised (Polars regular expressions, list and integer arithmetic); only the
HMAC runs in Python, once per distinct personal value.

Rules of `personal_kind` (a value is personal if any part of it matches; the first kind listed wins)
---------------------------------------------------------------------------------------------------
A *number* below must stand on its own: not glued to a letter or digit, and not joined to another
digit by `-` `.` `/` `:` (so the digits of `2017-90000012`, `2020-0001234`, `09:14` or a date are
never read as a number of their own). A space does not join: `12 0612345678` holds a phone number.

1. e-mailadres: `local@domain.tld`: non-space characters, `@`, a domain with at least one dot.
2. iban: two letters, two digits and 11-30 letters/digits, written solid or in groups of four
   separated by single spaces, case-insensitive, whose ISO 13616 mod-97 check gives 1. Text with
   the *shape* of an IBAN is judged by that check only: the digits inside an IBAN with a typo are
   not looked at again as a phone number or BSN (`NL91 ABNA 0417 1643 01` holds `0417 1643 01`).
3. telefoonnummer (written the way people write them):
   - Dutch national notation: `0`, a non-zero digit, 8 more digits, i.e. exactly 10 digits; any
     digit may be followed by one separator (space, `.`, `-`, `/`, or ` - `, ` / `); or the area
     code in brackets: `(0XX) ...` with 10 digits in all.
   - International notation: `+` or `00`, a non-zero digit, then 7-14 more digits (8-15 in all),
     with the same separators, brackets and a trunk `(0)` (`+31 (0)6 12345678`, `+1 (202) 555-0143`).
4. bsn: 9 digits, solid or grouped `dddd.dd.ddd` / `ddd.ddd.ddd` (dots or spaces), or 8 digits (a
   BSN whose leading zero a spreadsheet dropped), solid or grouped `ddd.dd.ddd` / `dd.ddd.ddd`,
   passing the eleven-test after prefixing zeros to 9 digits: 9*d1 + 8*d2 + ... + 2*d8 - d9 is
   divisible by 11 and not all digits are 0.
5. telefoonnummer, what a spreadsheet makes of one (it drops leading zeros and the `+`): a solid
   run of exactly 9 digits starting with `6` (a mobile number `06...` without its `0`), or of 11
   digits `31` + non-zero digit + 8 digits (`+31...` or `0031...` without its prefix). A BSN wins
   over this rule: a 9-digit run that passes the eleven-test is a `bsn`.

Digit runs that match none of these are not personal. In particular a 10-digit number that does
not start with `0` (a Unix time such as `1584346443`, an order number) is not flagged: in the
Netherlands it cannot be a national phone number, and without `+`/`00` there is nothing that makes
it international; a 9-digit number failing the eleven-test and not starting with `6` is not
flagged (a landline without its leading zero, `302860000`, cannot be told from any other 9-digit
number: left open); longer runs (ids) are not flagged. The eleven-test accepts 1 in 11 arbitrary
8- or 9-digit runs, so some solid dates are masked as a BSN (`20200316` and `16032020` both pass):
a false alarm preferred over publishing a BSN.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

import polars as pl

TELEFOONNUMMER, EMAILADRES, BSN, IBAN = "telefoonnummer", "e-mailadres", "bsn", "iban"
HASH_HEX_DIGITS = 12
RARE_LABEL = "(zelden)"

# --- patterns (Rust regex syntax: no look-around, so boundaries are consumed where needed) -------

# Before a number: start of text, a character that is neither a word character nor a joining
# separator, or a joining separator that does not follow a digit.
_BEFORE = r"(?:^|[^\w.\-/:]|[^0-9][.\-/:]|^[.\-/:])"
# After a number: the mirror image.
_AFTER = r"(?:$|[^\w.\-/:]|[.\-/:]$|[.\-/:][^0-9])"
_SEP = r"(?: ?[\-/] ?|[ .])"
_GAP = rf"(?:{_SEP}?\(0\){_SEP}?|{_SEP}?\(|\){_SEP}?|{_SEP})"
_DUTCH = (
    rf"0[1-9](?:{_SEP}?[0-9]){{8}}"
    rf"|\(0[1-9]\) ?[0-9](?:{_SEP}?[0-9]){{7}}"
    rf"|\(0[1-9][0-9]\) ?[0-9](?:{_SEP}?[0-9]){{6}}"
    rf"|\(0[1-9][0-9]{{2}}\) ?[0-9](?:{_SEP}?[0-9]){{5}}"
)
_INTERNATIONAL = rf"(?:\+|00) ?[1-9](?:{_GAP}?[0-9]){{7,14}}"
PHONE_PATTERN = rf"{_BEFORE}(?:{_DUTCH}|{_INTERNATIONAL}){_AFTER}"
STRIPPED_PHONE_PATTERN = rf"{_BEFORE}(?:6[0-9]{{8}}|31[1-9][0-9]{{8}}){_AFTER}"

EMAIL_PATTERN = r"[^\s@]+@[\w\-]+(?:\.[\w\-]+)+"

_IBAN_BBAN = r"(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)"
IBAN_PATTERN = rf"(?i)\b[A-Z]{{2}}[0-9]{{2}}{_IBAN_BBAN}\b"

# BSN candidates are looked for after every digit's joining separator has become `_` (a word
# character), so `\b` alone tells a number that stands on its own; dots in a grouped BSN are `_` too.
_JOINED = r"([0-9])[.\-/:]"
_G = r"[_ ]"
BSN_PATTERN = (
    rf"\b(?:[0-9]{{4}}{_G}[0-9]{{2}}{_G}[0-9]{{3}}|[0-9]{{3}}{_G}[0-9]{{3}}{_G}[0-9]{{3}}|[0-9]{{9}}"
    rf"|[0-9]{{3}}{_G}[0-9]{{2}}{_G}[0-9]{{3}}|[0-9]{{2}}{_G}[0-9]{{3}}{_G}[0-9]{{3}}|[0-9]{{8}})\b"
)

# ISO 13616: letters count as two digits, A = 10 ... Z = 35.
_LETTERS = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
_LETTER_VALUES = [str(10 + i) for i in range(26)]
# Up to 34 characters, each at most two digits: 68 digits, reduced 9 at a time (97 * 10**9 fits Int64).
_MOD97_CHUNK = 9
_MOD97_DIGITS = 68


def _eleven_test(candidate: pl.Expr) -> pl.Expr:
    """The BSN eleven-test on an 8- or 9-digit string (separators allowed), with Int64 arithmetic."""
    number = candidate.str.replace_all(r"[^0-9]", "").str.zfill(9).cast(pl.Int64)
    weighted = pl.lit(0, dtype=pl.Int64)
    for position in range(9):  # d1 is the most significant digit
        digit = (number // 10 ** (8 - position)) % 10
        weighted = weighted + digit * (9 - position if position < 8 else -1)
    return (number > 0) & (weighted % 11 == 0)


def _mod97_is_one(candidate: pl.Expr) -> pl.Expr:
    """ISO 13616 check of an IBAN candidate: move the first four characters to the end, letters to
    numbers, and the resulting number mod 97 must be 1. Reduced piecewise, 9 digits at a time."""
    compact = candidate.str.to_uppercase().str.replace_all(" ", "", literal=True)
    rearranged = pl.concat_str(compact.str.slice(4), compact.str.slice(0, 4))
    digits = rearranged.str.replace_many(_LETTERS, _LETTER_VALUES)
    remainder = pl.lit(0, dtype=pl.Int64)
    for start in range(0, _MOD97_DIGITS, _MOD97_CHUNK):
        chunk = digits.str.slice(start, _MOD97_CHUNK)
        scale = pl.lit(10, dtype=pl.Int64).pow(chunk.str.len_chars().cast(pl.Int64))
        remainder = (remainder * scale + chunk.cast(pl.Int64, strict=False).fill_null(0)) % 97
    return remainder == 1


def _any_candidate(text: pl.Expr, pattern: str, check: pl.Expr) -> pl.Expr:
    """Does any match of `pattern` in `text` pass `check` (an expression on `pl.element()`)?"""
    return text.str.extract_all(pattern).list.eval(check).list.any()


def personal_kind(value: pl.Expr) -> pl.Expr:
    """The kind of personal data a text value looks like, or null; see the module's rules."""
    text = value.str.strip_chars()
    without_iban = text.str.replace_all(IBAN_PATTERN, " ")
    return (
        pl.when(text.str.contains(EMAIL_PATTERN))
        .then(pl.lit(EMAILADRES))
        .when(_any_candidate(text, IBAN_PATTERN, _mod97_is_one(pl.element())))
        .then(pl.lit(IBAN))
        .when(without_iban.str.contains(PHONE_PATTERN))
        .then(pl.lit(TELEFOONNUMMER))
        .when(
            _any_candidate(without_iban.str.replace_all(_JOINED, "${1}_"), BSN_PATTERN, _eleven_test(pl.element()))
        )
        .then(pl.lit(BSN))
        .when(without_iban.str.contains(STRIPPED_PHONE_PATTERN))
        .then(pl.lit(TELEFOONNUMMER))
        .otherwise(pl.lit(None, dtype=pl.String))
        .alias("soort")
    )


def _short_hashes(values: pl.Series, key: bytes) -> pl.Series:
    """First 12 hex digits of HMAC-SHA-256 of each non-empty value, hashed once per distinct value."""
    distinct = values.drop_nulls().unique().to_list()
    digests = {v: hmac.digest(key, v.encode(), hashlib.sha256).hex()[:HASH_HEX_DIGITS] for v in distinct if v}
    return values.replace_strict(digests, default=None, return_dtype=pl.String)


def mask(value: pl.Expr, kind: pl.Expr, key: bytes) -> pl.Expr:
    """`[<kind> #<12 hex digits>]`: the kind and a keyed hash of the trimmed value; null where
    `kind` is null, so only personal values are hashed (once per distinct value)."""
    personal = pl.when(kind.is_not_null()).then(value.str.strip_chars())
    digest = personal.map_batches(lambda s: _short_hashes(s, key), return_dtype=pl.String, is_elementwise=True)
    return pl.format("[{} #{}]", kind, digest)


def screen(value: pl.Expr, key: bytes) -> pl.Expr:
    """The value unchanged when it is not personal, else its `mask`; null stays null.

    An expression rather than a Series function: detection is native Polars and runs where the
    column is (`frame.with_columns(screen(pl.col("waarde"), key))`, lazily too), only the personal
    values reach Python for the HMAC. For a Series `s`: `s.to_frame().select(screen(pl.col(s.name), key))`.
    """
    kind = personal_kind(value)
    return pl.when(kind.is_null()).then(value).otherwise(mask(value, kind, key))


def group_rare(
    frame: pl.DataFrame,
    text_columns: Sequence[str],
    threshold: int,
    *,
    day_column: str = "datum",
    period_column: str | None = None,
    count_column: str = "aantal",
    sum_columns: Sequence[str] = (),
    label: str = RARE_LABEL,
) -> pl.DataFrame:
    """Small-cell suppression of a breakdown table.

    The grain of `frame` is every column other than `count_column` and `sum_columns` (a day or
    period and the key columns). For each column of `text_columns` separately, a value whose total
    `count_column` within a period is below `threshold` becomes `label` in that period; rows whose
    keys are then equal are merged, adding the count and the sums. So totals per day (or per any
    column not in `text_columns`) are unchanged and the grain stays unique.

    The period is the calendar year of `day_column`, or, when `period_column` is given (for a
    frame that has `jaar` instead of a day), the values of that column. Null stays null (an empty
    queue is not rare text); a value already equal to `label` is kept.
    """
    measures = [count_column, *sum_columns]
    keys = [c for c in frame.columns if c not in measures]
    period = pl.col(period_column) if period_column is not None else pl.col(day_column).dt.year()
    count = pl.col(count_column)
    relabelled = frame.with_columns(
        pl.when(
            pl.col(column).is_not_null()
            & (pl.col(column) != label)
            & (count.sum().over(period, pl.col(column)) < threshold)
        )
        .then(pl.lit(label))
        .otherwise(pl.col(column))
        .alias(column)
        for column in text_columns
    )
    merged = relabelled.group_by(keys).agg(pl.col(c).sum() for c in measures)
    return merged.select(frame.columns).cast(frame.schema).sort(keys, nulls_last=True)
