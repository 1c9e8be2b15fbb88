"""Money strings at the edge of the platform."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.money import MoneyFormatError, format_money, parse_money


@pytest.mark.parametrize(
    ("text", "micros"),
    [
        ("0.63", 630_000),
        ("12.50", 12_500_000),
        ("1", 1_000_000),
        ("0.001", 1_000),
        ("100.000001", 100_000_001),
    ],
)
def test_parse_money_reads_decimal_dollars(text: str, micros: int) -> None:
    assert parse_money(text) == micros


@pytest.mark.parametrize(
    "bad", ["", "-1", "-0", "1e400", "NaN", "inf", " 1", "1.", ".5", "1,5", "0.0000001", "0"]
)
def test_parse_money_refuses_what_is_not_a_plain_positive_amount(bad: str) -> None:
    with pytest.raises(MoneyFormatError):
        parse_money(bad)


def test_parse_money_limits_decimals_when_asked() -> None:
    assert parse_money("10.13", decimals=2) == 10_130_000
    with pytest.raises(MoneyFormatError, match="decimals"):
        parse_money("10.131", decimals=2)


@pytest.mark.parametrize(
    ("micros", "text"), [(0, "0.00"), (630_000, "0.63"), (1_000, "0.001"), (-1_750_000, "-1.75")]
)
def test_format_money_shows_at_least_cents(micros: int, text: str) -> None:
    assert format_money(micros) == text


@given(st.integers(min_value=1, max_value=10**15))
def test_format_then_parse_is_the_identity(micros: int) -> None:
    assert parse_money(format_money(micros)) == micros
