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

Detection is vectorised: Polars regular expressions find candidates, the eleven-test and the
mod-97 check are integer arithmetic on them (`list.eval`). Only the HMAC runs in Python, once per
distinct personal value. Each function has a Series form (`personal_kinds`, `masks`,
`screen_series`) that computes every intermediate result once, and an expression form that hands
the column to it (`map_batches`), so it can be used in `select`/`with_columns`, eager or lazy.

Rules of `personal_kind` (a value is personal if any part of it matches; the first kind listed wins)
---------------------------------------------------------------------------------------------------
A *number* below must stand on its own: not glued to a letter or digit, and not joined to another
digit by `-` `.` `/` `:` (so the digits of `2017-90000012`, `2020-0001234`, `09:14` or a date are
never read as a number of their own). A space does not join: `12 0612345678` holds a phone number.

1. e-mailadres: `local@domain.tld`: non-space characters, `@`, a domain with at least one dot.
2. iban: two letters, two digits and 11-30 letters/digits (15-34 characters), written solid (any
   case) or in groups of four separated by single spaces (all upper or all lower case, so that a
   word after it is not taken for its last group), whose ISO 13616 mod-97 check gives 1. Text with
   the *shape* of an IBAN is judged by that check only: the digits inside an IBAN with a typo are
   not looked at again as a phone number or BSN (`NL91 ABNA 0417 1643 01` holds `0417 1643 01`).
3. telefoonnummer (written the way people write them):
   - Dutch national notation: `0` and a non-zero digit written together, then 8 more digits
     (exactly 10 in all), each digit after the second possibly preceded by one separator (space,
     `.`, `-`, `/`, ` - `, ` / `; a no-break space and an en dash too); or the area code in
     brackets, `(030) 123 45 67`, 10 digits in all.
   - International notation: `+` (which may follow anything) or `00`, a non-zero digit, then 7-14
     more digits (8-15 in all), with the same separators, brackets and a trunk `(0)`
     (`+31 (0)6 12345678`, `+1 (202) 555-0143`).
4. bsn: 9 digits, solid or grouped `dddd.dd.ddd` / `ddd.ddd.ddd`, or 8 digits (a BSN whose leading
   zero a spreadsheet dropped), solid or grouped `ddd.dd.ddd` / `dd.ddd.ddd`, the groups separated
   by dots, spaces or hyphens (`111-222-333`, `111 222 333`, `1112.22.333`; a no-break space and the
   Unicode hyphens and en dash too), passing the eleven-test after prefixing zeros to 9 digits:
   9*d1 + 8*d2 + ... + 2*d8 - d9 is divisible by 11 and not all digits are 0. As any number, it
   must stand on its own: `12-111-222-333` is one longer number, not a BSN.
5. telefoonnummer, what a spreadsheet makes of one (it drops leading zeros and the `+`): a solid
   run of exactly 9 digits starting with `6` (a mobile number `06...` without its `0`), or of 11
   digits `31` + non-zero digit + 8 digits (`+31...` or `0031...` without its prefix). A BSN wins
   over this rule: a 9-digit run that passes the eleven-test is a `bsn`.

Names (`screen_names`): a path below the landing folder, a header name, or a message that quotes
them, is judged part by part before it is published or printed. Each folder name and file name
(and each word of a message) is judged as free text, with `_` and the boundary between a letter
and a digit separating words (`bron_20200108_0611112222.csv`, `tel0612345678`); a part that
holds personal data becomes its mask (`bron_20200108_[telefoonnummer #…].csv`). A day written
`yyyymmdd` in a name is taken for a day, not judged as an 8-digit BSN. A delivery's source and
export day (`bron_20200108`) and a file's extension (`.csv`) are kept as they are, and so is a
mask: screening twice changes nothing.

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
import re
from collections.abc import Iterable, Sequence

import polars as pl

TELEFOONNUMMER, EMAILADRES, BSN, IBAN = "telefoonnummer", "e-mailadres", "bsn", "iban"
HASH_HEX_DIGITS = 12
_SHA256_BLOCK = 64
RARE_LABEL = "(zelden)"

# --- patterns (Rust regex syntax: no look-around) ------------------------------------------------
# Word characters are ASCII: a non-ASCII letter next to a number counts as a boundary (flag more).
_WORD = r"[A-Za-z0-9_]"
_JOIN = r"[.\-/:]"
_EDGE = r"(?-u:\b)"
# Before a phone number: start of text, a character that is neither a word character nor a joining
# separator, or a joining separator that does not follow a digit (consumed: fine for `contains`).
_BEFORE = r"(?:^|[^A-Za-z0-9_.\-/:]|[^0-9][.\-/:]|^[.\-/:])"
# After a phone number: the mirror image.
_AFTER = r"(?:$|[^A-Za-z0-9_.\-/:]|[.\-/:]$|[.\-/:][^0-9])"
# A separator inside a phone number: space, dot, hyphen, slash, or a hyphen or slash between spaces;
# a no-break space and an en dash (what word processors and web pages make of them) count too.
_SEP = "(?:[ \u00a0]?[\\-/\u2013][ \u00a0]?|[ \u00a0.])"
_GAP = rf"(?:{_SEP}?\(0\){_SEP}?|{_SEP}?\(|\){_SEP}?|{_SEP})"
_DUTCH = (
    rf"0[1-9](?:{_SEP}?[0-9]){{8}}"
    rf"|\(0[1-9]\) ?[0-9](?:{_SEP}?[0-9]){{7}}"
    rf"|\(0[1-9][0-9]\) ?[0-9](?:{_SEP}?[0-9]){{6}}"
    rf"|\(0[1-9][0-9]{{2}}\) ?[0-9](?:{_SEP}?[0-9]){{5}}"
)
_INTERNATIONAL = rf" ?[1-9](?:{_GAP}?[0-9]){{7,14}}"
# A `+` starts a number wherever it stands (`tel+31...`); `00` must stand on its own.
PHONE_PATTERN = rf"(?:{_BEFORE}(?:{_DUTCH}|00{_INTERNATIONAL})|\+{_INTERNATIONAL}){_AFTER}"

EMAIL_PATTERN = r"[^\s@]@[\w\-]+(?:\.[\w\-]+)+"

# Solid in any case; in groups of four either upper or lower case, so that a word after the IBAN
# (`BE68 5390 0754 7034 t.n.v.`) is not read as its last group.
_IBAN_SOLID = r"(?i:[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30})"
_IBAN_UPPER = r"[A-Z]{2}[0-9]{2}(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?"
_IBAN_LOWER = r"[a-z]{2}[0-9]{2}(?: [a-z0-9]{4}){2,7}(?: [a-z0-9]{1,4})?"
IBAN_PATTERN = rf"(?-u){_EDGE}(?:{_IBAN_SOLID}|{_IBAN_UPPER}|{_IBAN_LOWER}){_EDGE}"

# Numbers that may be a BSN or a phone number without its leading zeros. A candidate is extracted
# together with any number joined to it by `.-/:` (`2017-90000012`, `03.123456789`) so that it
# can be rejected for that: the candidate must then match one of these shapes exactly.
_G = "[. \\-\u00a0\u2010\u2011\u2013]"  # dot, space, hyphen; a no-break space and the Unicode hyphens too
_BSN_SHAPES = (
    rf"[0-9]{{4}}{_G}[0-9]{{2}}{_G}[0-9]{{3}}|[0-9]{{3}}{_G}[0-9]{{3}}{_G}[0-9]{{3}}"
    rf"|[0-9]{{3}}{_G}[0-9]{{2}}{_G}[0-9]{{3}}|[0-9]{{2}}{_G}[0-9]{{3}}{_G}[0-9]{{3}}|[0-9]{{8,9}}"
)
_STRIPPED_PHONE_SHAPES = r"6[0-9]{8}|31[1-9][0-9]{8}"
NUMBER_PATTERN = (
    rf"{_EDGE}(?:{_WORD}*[0-9]{_JOIN})*(?:{_STRIPPED_PHONE_SHAPES}|{_BSN_SHAPES})(?:{_JOIN}[0-9]{_WORD}*)*{_EDGE}"
)
_BSN_EXACT = rf"^(?:{_BSN_SHAPES})$"
_STRIPPED_PHONE_EXACT = rf"^(?:{_STRIPPED_PHONE_SHAPES})$"

# ISO 13616: letters count as two digits, A = 10 ... Z = 35.
_LETTERS = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
_LETTER_VALUES = [str(10 + i) for i in range(26)]
# Up to 34 characters, each at most two digits: 68 digits, reduced 9 at a time (97 * 10**9 fits Int64).
_MOD97_CHUNK = 9
_MOD97_DIGITS = 68


def _eleven_test(number: pl.Expr) -> pl.Expr:
    """The BSN eleven-test on a number below 10**9 (an 8-digit BSN is a 9-digit one with a leading 0).

    `number` should be a column or `pl.element()`: it is used nine times, and Polars does not
    share a repeated sub-expression inside `list.eval`.
    """
    weighted = sum(
        ((number // 10 ** (8 - position)) % 10) * (9 - position if position < 8 else -1) for position in range(9)
    )
    return (number > 0) & (weighted % 11 == 0)


def _iban_digits(candidate: pl.Expr) -> pl.Expr:
    """An IBAN candidate as the number ISO 13616 checks: the first four characters moved to the
    end, letters as two digits; null unless it has 15-34 characters (the shortest IBAN is Norway's)."""
    compact = candidate.str.to_uppercase().str.replace_all(" ", "", literal=True)
    rearranged = pl.concat_str(compact.str.slice(4), compact.str.slice(0, 4))
    return pl.when(compact.str.len_chars().is_between(15, 34)).then(
        rearranged.str.replace_many(_LETTERS, _LETTER_VALUES)
    )


def _mod97_is_one(digits: pl.Expr) -> pl.Expr:
    """Is the number written as `digits` (up to 68) congruent to 1 mod 97? Reduced 9 digits at a
    time in Int64. `digits` should be a column or `pl.element()`: it is used once per piece."""
    remainder = pl.lit(0, dtype=pl.Int64)
    for start in range(0, _MOD97_DIGITS, _MOD97_CHUNK):
        piece = digits.str.slice(start, _MOD97_CHUNK)
        scale = pl.lit(10, dtype=pl.Int64).pow(piece.str.len_chars().cast(pl.Int64))
        remainder = (remainder * scale + piece.cast(pl.Int64, strict=False).fill_null(0)) % 97
    return remainder == 1


# Kinds by precedence: where a value holds more than one, the highest code names it.
_CODES = {5: EMAILADRES, 4: IBAN, 3: TELEFOONNUMMER, 2: BSN, 1: TELEFOONNUMMER}
_NUMBER_BSN, _NUMBER_STRIPPED_PHONE = 2, 1
_NOT_BSN_SHAPED = -1
_MOBILE_FLAG = 10**9


def _number_code(candidate: pl.Expr) -> pl.Expr:
    """Of an extracted number, an integer that `_number_kind` judges: its digits if it has a BSN
    shape, plus 10**9 if it is also a solid mobile number without its 0; -1 if it only has the
    shape of an international number without its prefix; null otherwise."""
    digits = candidate.str.replace_all(r"[^0-9]", "").cast(pl.Int64, strict=False)
    return (
        pl.when(candidate.str.contains(_BSN_EXACT))
        .then(digits + pl.when(candidate.str.contains(_STRIPPED_PHONE_EXACT)).then(_MOBILE_FLAG).otherwise(0))
        .when(candidate.str.contains(_STRIPPED_PHONE_EXACT))
        .then(pl.lit(_NOT_BSN_SHAPED, dtype=pl.Int64))
    )


def _number_kind(code: pl.Expr) -> pl.Expr:
    """2 for a BSN, 1 for a phone number without leading zeros, 0 otherwise (`code` from `_number_code`)."""
    return (
        pl.when(code == _NOT_BSN_SHAPED)
        .then(pl.lit(_NUMBER_STRIPPED_PHONE))
        .when(_eleven_test(code % _MOBILE_FLAG))
        .then(pl.lit(_NUMBER_BSN))
        .when(code >= _MOBILE_FLAG)
        .then(pl.lit(_NUMBER_STRIPPED_PHONE))
        .otherwise(pl.lit(0))
    )


def personal_kinds(values: pl.Series) -> pl.Series:
    """`personal_kind` of a Series of text.

    Every kind needs an ASCII digit or an `@` (see the patterns), so only the values that hold one
    are judged: most calls get a few distinct names of queues or places, none with a digit, and the
    stages below cost some 7 ms a call whatever the number of values (2.4 CPU s of the sample)."""
    text = values.cast(pl.String).rename("v")
    hopeful = text.str.contains("[0-9@]").fill_null(False)
    if hopeful.all():
        return _personal_kinds(text).rename(values.name)
    kinds = pl.repeat(None, len(text), dtype=pl.String, eager=True).rename(values.name)
    where = hopeful.arg_true()
    return kinds.scatter(where, _personal_kinds(text.gather(where))) if where.len() else kinds


def _personal_kinds(values: pl.Series) -> pl.Series:
    """`personal_kinds` of values that may hold personal data.

    In stages, so that every intermediate result is computed once (an eager `select` does not
    share repeated sub-expressions). The dearer steps only see the rows a cheap test lets through
    (the others are null there, and Polars skips nulls): the e-mail pattern rows with an `@`, the
    IBAN check rows with an IBAN shape.
    """
    v, element = pl.col("v"), pl.element()
    stage = values.cast(pl.String).rename("v").to_frame()
    stage = stage.select(v, pl.when(v.str.contains(IBAN_PATTERN)).then(v).alias("iban_shaped"))
    stage = stage.select(
        pl.when(v.str.contains("@", literal=True)).then(v).str.contains(EMAIL_PATTERN).alias("email"),
        pl.col("iban_shaped")
        .str.extract_all(IBAN_PATTERN)
        .list.eval(_iban_digits(element))
        .list.eval(_mod97_is_one(element))
        .list.any()
        .alias("iban"),
        pl.coalesce(pl.col("iban_shaped").str.replace_all(IBAN_PATTERN, " "), v).alias("rest"),
    )
    code = pl.max_horizontal(
        pl.col("email").cast(pl.Int8) * 5,
        pl.col("iban").cast(pl.Int8) * 4,
        pl.col("rest").str.contains(PHONE_PATTERN).cast(pl.Int8) * 3,
        pl.col("rest")
        .str.extract_all(NUMBER_PATTERN)
        .list.eval(_number_code(element))
        .list.eval(_number_kind(element))
        .list.max()
        .cast(pl.Int8),
    )
    kinds = stage.select(code.replace_strict(_CODES, default=None, return_dtype=pl.String)).to_series()
    return kinds.rename(values.name)


def personal_kind(value: pl.Expr) -> pl.Expr:
    """The kind of personal data a text value looks like (`telefoonnummer`, `e-mailadres`, `bsn`,
    `iban`), or null; see the module's rules. Null and empty text are null."""
    return value.map_batches(personal_kinds, return_dtype=pl.String, is_elementwise=True)


def _hmac_sha256_hex(key: bytes, texts: list[str]) -> list[str]:
    """HMAC-SHA-256 (RFC 2104) of each text, hex. Same as `hmac.digest`, three times faster on many
    short texts: the padded key is hashed once and the two SHA-256 states copied per text."""
    block = hashlib.sha256(key).digest() if len(key) > _SHA256_BLOCK else key
    block = block.ljust(_SHA256_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
    digests = []
    for text in texts:
        step = inner.copy()
        step.update(text.encode())
        final = outer.copy()
        final.update(step.digest())
        digests.append(final.hexdigest())
    return digests


def _short_hashes(values: pl.Series, key: bytes) -> pl.Series:
    """First 12 hex digits of HMAC-SHA-256 of each non-empty value, hashed once per distinct value
    (as `pseudonymise.keyed_hash`); empty and null stay null."""
    values = values.cast(pl.String)
    distinct = values.drop_nulls().unique()
    distinct = distinct.filter(distinct != "")
    digests = pl.Series([d[:HASH_HEX_DIGITS] for d in _hmac_sha256_hex(key, distinct.to_list())], dtype=pl.String)
    return values.replace_strict(distinct, digests, default=None, return_dtype=pl.String)


def masks(values: pl.Series, kinds: pl.Series, key: bytes) -> pl.Series:
    """`mask` of Series: `[<kind> #<hash>]` where `kinds` is not null, else null."""
    pair = pl.DataFrame({"value": values.cast(pl.String), "kind": kinds.cast(pl.String)})
    personal = pair.select(pl.when(pl.col("kind").is_not_null()).then(pl.col("value").str.strip_chars())).to_series()
    masked = pair.select(pl.format("[{} #{}]", pl.col("kind"), _short_hashes(personal, key)))
    return masked.to_series().rename(values.name)


def mask(value: pl.Expr, kind: pl.Expr, key: bytes) -> pl.Expr:
    """`[<kind> #<hash>]`: the kind and the first 12 hex digits of HMAC-SHA-256 (with `key`) of the
    trimmed value, e.g. `[telefoonnummer #3fa2c1d0e9b4]`; null where `kind` is null. Only personal
    values are hashed, once per distinct value, so equal values get equal masks under one key."""
    return pl.struct(value.alias("value"), kind.alias("kind")).map_batches(
        lambda pair: masks(pair.struct.field("value"), pair.struct.field("kind"), key),
        return_dtype=pl.String,
        is_elementwise=True,
    )


def screen_series(values: pl.Series, key: bytes) -> pl.Series:
    """`screen` of a Series, judged once per distinct value (free text repeats: a queue's name)."""
    distinct = values.unique()
    screened = masks(distinct, personal_kinds(distinct), key).fill_null(distinct.cast(pl.String))
    mapping = pl.DataFrame({"value": distinct, "screened": screened})
    found = values.rename("value").to_frame().join(mapping, on="value", how="left", maintain_order="left")
    return found["screened"].alias(values.name)


def screen(value: pl.Expr, key: bytes) -> pl.Expr:
    """The value unchanged when it is not personal, else its `mask`; null stays null.

    Takes and gives an expression, so it goes where the column is used
    (`quarantine.with_columns(screen(pl.col("waarde"), key))`, lazy frames too); `value` is
    evaluated once and handed to `screen_series` in one piece (or per batch when streaming). The
    detection inside is native Polars; only the personal values reach Python, for the HMAC.
    """
    return value.map_batches(lambda batch: screen_series(batch, key), return_dtype=pl.String, is_elementwise=True)


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


def keyed_hash(values: pl.Series, key: bytes) -> pl.Series:
    """HMAC-SHA-256 (hex) of each non-empty value, the pseudonym of personal data a figure needs (a
    caller's number); empty and null stay null. Hashed once per distinct value."""
    values = values.cast(pl.String)
    distinct = values.drop_nulls().unique()
    distinct = distinct.filter(distinct != "")
    digests = pl.DataFrame(
        {"value": distinct, "digest": _hmac_sha256_hex(key, distinct.to_list())},
        schema={"value": pl.String, "digest": pl.String},
    )
    found = (
        values.cast(pl.String).rename("value").to_frame().join(digests, on="value", how="left", maintain_order="left")
    )
    return found["digest"].alias(values.name)


# --- names: paths, header names, and the messages that quote them ---------------------------------

# A delivery's name starts with its source and export day (`bron_20200316`): the agreement's
# words, kept readable; so is a file's extension (`.csv`, `.csv.tmp`; not `.nl` of an address).
_DAY = r"(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"  # yyyymmdd
_DELIVERY_PREFIX = re.compile(rf"^\.?[A-Za-z]+_{_DAY}(?=[_.]|$)_?")
# A day written yyyymmdd in a name is a day (an export day, a correction's), not an 8-digit BSN.
_NAMED_DAY = re.compile(rf"(?<![0-9A-Za-z]){_DAY}(?![0-9A-Za-z])")
_EXTENSION = re.compile(r"(?i:\.(?:csv|tmp|txt|zip|xlsx?|gz|bak|part))+$")
_LETTER_DIGIT = re.compile(r"(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])")
# A mask (`mask`): screened already, its hex digits no number of anyone's.
_MASKED = re.compile(r"\[[a-z\-]+(?: #[0-9a-f]{12})?\]")
_WORDS = re.compile(rf"({_MASKED.pattern}|\s+)")
_QUOTING = "'\"`()[]{}<>,;:"


def _as_words(part: str) -> str:
    """A part of a name as free text: `_` separates words; a day yyyymmdd is no number to judge."""
    return _NAMED_DAY.sub(" ", part.replace("_", " "))


def _as_split_words(part: str) -> str:
    """The same, a letter beside a digit separating words too (`tel0612345678`)."""
    return _as_words(_LETTER_DIGIT.sub(" ", part))


def _parts(name: str) -> list[tuple[str, str, str]]:
    """(kept head, judged middle, kept tail) of each `/`-separated component of a name."""
    found = []
    for component in name.split("/"):
        head_match = _DELIVERY_PREFIX.match(component)
        head = head_match.group(0) if head_match else ""
        rest = component[len(head) :]
        tail_match = _EXTENSION.search(rest)
        tail = tail_match.group(0) if tail_match and tail_match.start() > 0 else ""
        found.append((head, rest[: len(rest) - len(tail)], tail))
    return found


def screen_names(names: Iterable[str], key: bytes | None) -> dict[str, str]:
    """Each name (a path below the landing folder, a header name) as it may be published or printed:
    see "Names" in the module's rules. Each distinct part is judged once, in one pass. Without a key
    (a command that needs none, on a machine without it) a personal part is only its kind: `[bsn]`."""
    parts = {name: _parts(name) for name in set(names)}
    middles = sorted({m for found in parts.values() for _, m, _ in found if m and not _MASKED.fullmatch(m)})
    if not middles:  # nothing to judge: the regular expressions cost a few ms per call even on nothing
        return {name: name for name in parts}
    kinds = personal_kinds(pl.Series([_as_words(m) for m in middles], dtype=pl.String)).fill_null(
        personal_kinds(pl.Series([_as_split_words(m) for m in middles], dtype=pl.String))
    )
    if key is None:
        masked = kinds.map_elements(lambda kind: f"[{kind}]", return_dtype=pl.String)
    else:
        masked = masks(pl.Series(middles, dtype=pl.String), kinds, key)
    replaced = {m: shown for m, shown, kind in zip(middles, masked, kinds, strict=True) if kind is not None}
    return {
        name: "/".join(head + replaced.get(middle, middle) + tail for head, middle, tail in found)
        for name, found in parts.items()
    }


def screen_name(name: str, key: bytes) -> str:
    return screen_names([name], key)[name]


def screen_messages(messages: Iterable[str], key: bytes) -> dict[str, str]:
    """Each message (English text that may quote file and header names) with every word judged as a
    name (`screen_names`), quotes and brackets around it kept."""
    words: dict[str, list[tuple[str, str, str]]] = {}
    for message in set(messages):
        pieces = []
        for word in _WORDS.split(message):
            if _MASKED.fullmatch(word):  # screened before: as it is
                pieces.append((word, "", ""))
                continue
            core = word.strip(_QUOTING)
            start = word.find(core) if core else len(word)
            pieces.append((word[:start], core, word[start + len(core) :]))
        words[message] = pieces
    screened = screen_names((core for pieces in words.values() for _, core, _ in pieces if core), key)
    return {
        message: "".join(before + (screened[core] if core else "") + after for before, core, after in pieces)
        for message, pieces in words.items()
    }


def screen_message(message: str, key: bytes) -> str:
    return screen_messages([message], key)[message]
