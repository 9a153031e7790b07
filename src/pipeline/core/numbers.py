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


def signed_pct(value: float | None) -> str:
    """A whole change in %: -38 -> '-38%', 2 -> '+2%', 0 -> '0%'."""
    return "-" if value is None else f"{number(value, signed=True)}%"


def pct(value: float) -> str:
    """A whole percentage: 88.0 -> '88%'."""
    return f"{number(value)}%"


def in_words(share: float) -> str:
    """73 -> 'bijna drie kwart (73%)': a whole share near a common fraction in words, else '40%'."""
    for fraction, words in _FRACTIONS:
        if abs(share - fraction) <= 3:
            qualifier = "bijna " if share < fraction - 0.5 else "ruim " if share > fraction + 0.5 else ""
            return f"{qualifier}{words} ({pct(share)})"
    return pct(share)
