"""Numbers and shares as the municipality writes them."""

from __future__ import annotations

from pipeline.core.numbers import in_words, number, signed_pct


def test_numbers_and_shares_read_as_in_the_report() -> None:
    assert number(304196) == "304.196"
    assert number(1234.5, 1) == "1.234,5"
    assert number(None) == "-"
    assert number(2.5) == "3", "whole numbers round half up, as every figure of the report"
    assert number(2, signed=True) == "+2"
    assert (signed_pct(-38), signed_pct(2), signed_pct(0)) == ("-38%", "+2%", "0%")
    assert in_words(73) == "bijna drie kwart (73%)"
    assert in_words(66) == "bijna twee derde (66%)"
    assert in_words(50) == "de helft (50%)"
    assert in_words(52) == "ruim de helft (52%)"
    assert in_words(40) == "40%"
