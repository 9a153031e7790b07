"""Numbers and shares as the municipality writes them: `304.196`, `58,3`, `-38%`, `bijna drie kwart (73%)`."""

from __future__ import annotations

# A share near a common fraction is said in words, the way the report does.
_FRACTIONS: tuple[tuple[float, str], ...] = (
    (25.0, "een kwart"),
    (100 / 3, "een derde"),
    (50.0, "de helft"),
    (200 / 3, "twee derde"),
    (75.0, "drie kwart"),
)


def number(value: float | None, decimals: int = 0, signed: bool = False) -> str:
    """Dutch number format: 304196 -> '304.196', 58.25 -> '58,3' with one decimal; None -> '-'.

    Whole numbers are rounded half up, as every figure of the report is.
    """
    if value is None:
        return "-"
    if decimals == 0:
        whole = int(value + 0.5) if value >= 0 else -int(-value + 0.5)
        text = f"{whole:,}".replace(",", ".")
        return f"+{text}" if signed and whole > 0 else text
    text = f"{value:,.{decimals}f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"+{text}" if signed and value > 0 else text


def signed_pct(value: int | None) -> str:
    """-38 -> '-38%', 2 -> '+2%', 0 -> '0%'."""
    return "-" if value is None else f"{'+' if value > 0 else ''}{value}%"


def in_words(pct: int) -> str:
    """73 -> 'bijna drie kwart (73%)': a share near a common fraction in words, else '40%'."""
    for share, words in _FRACTIONS:
        if abs(pct - share) <= 3:
            qualifier = "bijna " if pct < share - 0.5 else "ruim " if pct > share + 0.5 else ""
            return f"{qualifier}{words} ({pct}%)"
    return f"{pct}%"
