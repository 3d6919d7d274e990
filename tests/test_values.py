"""Strict values: what a money, number or text field accepts, and the one form it stores."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pathways.fields import FieldProblem, coerce, free_text, one_line_text
from pathways.model import Field

MONEY = Field("value", "money")
CREDIT = Field("credit", "money", minimum=-1000)
NUMBER = Field("score", "number")
VENDOR = Field("vendor", "string")
NOTES = Field("notes", "text")
KIND = Field("kind", "enum", values=("goods", "services"))
TAGS = Field("tags", "list")


@pytest.mark.parametrize(("raw", "stored"), [
    ("12000", "12000"),
    ("12,000.50", "12000.5"),
    ("$12,000.50", "12000.5"),
    ("1,234,567", "1234567"),
    ("25000.000", "25000"),
    ("0.10", "0.1"),
    ("-0", "0"),
    ("0.00", "0"),
    (" 7 ", "7"),
    (12000, "12000"),
    (12000.5, "12000.5"),
    (0.1, "0.1"),
    (25000.0, "25000"),
])
def test_money_accepts_plain_decimals_and_stores_one_spelling(raw: object, stored: str) -> None:
    assert coerce(MONEY, raw) == stored


@pytest.mark.parametrize(("raw", "says"), [
    ("12,50", "commas only between groups of three"),
    ("1,2,3", "commas only between groups of three"),
    ("12,0000", "commas only between groups of three"),
    ("1e3", "no exponents"),
    ("1E+3", "no exponents"),
    ("1e309", "no exponents"),
    ("\u0661\u0662", "digits 0-9 only"),  # Arabic-Indic
    ("\uff11\uff12", "digits 0-9 only"),  # fullwidth
    ("NaN", "write a plain decimal amount"),
    ("Infinity", "write a plain decimal amount"),
    ("-Infinity", "write a plain decimal amount"),
    ("0x10", "write a plain decimal amount"),
    ("12.", "write a plain decimal amount"),
    ("", "write a plain decimal amount"),
    ("1.005", "more than two decimals"),
    ("12000.501", "more than two decimals"),
    ("-5", "is negative"),
    (float("inf"), "not a finite amount"),
    (float("nan"), "not a finite amount"),
    (1e20, "more than 15 digits"),
    ("1234567890123456", "more than 15 digits"),
    (True, "got true"),
    ([1], "got a list"),
])
def test_money_refuses_what_is_not_a_plain_amount_and_says_what_to_write(raw: object, says: str) -> None:
    with pytest.raises(FieldProblem) as info:
        coerce(MONEY, raw)
    assert says in str(info.value)
    assert str(info.value).startswith("value: ")


def test_money_refusals_give_an_example_to_copy() -> None:
    with pytest.raises(FieldProblem, match=r"e\.g\. 12000\.50"):
        coerce(MONEY, "12,50")


def test_negative_money_only_where_the_field_declares_a_negative_minimum() -> None:
    assert coerce(CREDIT, "-$250.50") == "-250.5"
    with pytest.raises(FieldProblem, match="below the minimum"):
        coerce(CREDIT, "-1000.01")


def test_number_allows_more_decimals_but_not_exponents() -> None:
    assert coerce(NUMBER, "0.125") == "0.125"
    assert coerce(NUMBER, "-3.50") == "-3.5"
    with pytest.raises(FieldProblem, match="no exponents"):
        coerce(NUMBER, "1e-3")


_amounts = st.decimals(min_value=-10**12, max_value=10**12, places=2, allow_nan=False, allow_infinity=False)


@given(st.one_of(
    _amounts.map(str),
    _amounts.map(lambda d: f"{d:,.2f}"),
    _amounts.map(lambda d: f"${d:.3f}"),
    st.integers(min_value=-10**13, max_value=10**13),
    _amounts.map(float),
))
def test_money_coercion_is_idempotent_and_exact(raw: object) -> None:
    try:
        stored = coerce(CREDIT_UNBOUNDED, raw)
    except FieldProblem:
        return
    assert coerce(CREDIT_UNBOUNDED, stored) == stored
    assert format(Decimal(stored), "f") == stored  # parses back to itself: no exponent, no "-0"
    assert stored != "-0" and not stored.endswith((".0", "0") if "." in stored else ".")
    expected = Decimal(raw.replace(",", "").replace("$", "")) if isinstance(raw, str) else Decimal(repr(raw))
    assert Decimal(stored) == expected


CREDIT_UNBOUNDED = Field("credit", "money", minimum=-10**14)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=-10**8, max_value=10**8))
def test_number_canonical_string_parses_back_to_the_same_decimal(value: Decimal) -> None:
    stored = coerce(NUMBER, format(value, "f"))
    assert Decimal(stored) == value
    assert coerce(NUMBER, stored) == stored


@pytest.mark.parametrize(("raw", "code"), [
    ("Acme\x00", "U+0000 NULL"),
    ("Acme\x1b]0;owned\x07", "U+001B ESCAPE"),
    ("Acme\x9b31m", "U+009B"),  # C1 CSI
    ("Acme \u202eCLL", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    ("Acme \u2066x\u2069", "U+2066 LEFT-TO-RIGHT ISOLATE"),
    ("Ac\u200bme", "U+200B ZERO WIDTH SPACE"),
    ("Acme\u200f", "U+200F RIGHT-TO-LEFT MARK"),
    ("Ac\u2060me", "U+2060 WORD JOINER"),
    ("\ufeffAcme", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
    ("Acme\tLLC", "U+0009 TAB"),
])
def test_one_line_fields_refuse_hidden_characters_naming_the_code_point(raw: str, code: str) -> None:
    for field in (VENDOR, KIND):
        with pytest.raises(FieldProblem) as info:
            coerce(field, raw)
        assert code in str(info.value)
        assert str(info.value).startswith(f"{field.name}: ")
    with pytest.raises(FieldProblem, match=re.escape(code)):
        coerce(TAGS, ["ok", raw])


def test_text_fields_keep_newlines_and_tabs_but_refuse_other_controls() -> None:
    assert coerce(NOTES, "line one\n\tline two") == "line one\n\tline two"
    for raw, code in [("a\rb", "U+000D CARRIAGE RETURN"), ("a\x1b[2Jb", "U+001B ESCAPE"),
                      ("a\u202eb", "U+202E"), ("a\u2028b", "U+2028 LINE SEPARATOR")]:
        with pytest.raises(FieldProblem, match=re.escape(code)):
            coerce(NOTES, raw)


def test_free_text_is_the_multi_line_rule_for_rationales() -> None:
    assert free_text("--rationale", "ok\nsecond line") == "ok\nsecond line"
    with pytest.raises(FieldProblem, match=r"--rationale: contains U\+001B ESCAPE at character 3"):
        free_text("--rationale", "ok\x1b[31m")


def test_names_are_one_line_text() -> None:
    assert one_line_text("--as", "Ana Lopez") == "Ana Lopez"
    for raw in ("ana\nbo", "ana\u202e", "ana\x00"):
        with pytest.raises(FieldProblem, match="--as: "):
            one_line_text("--as", raw)


@pytest.mark.parametrize("raw", ["", "   "])
def test_an_empty_text_value_is_never_a_value(raw: str) -> None:
    for field in (VENDOR, NOTES):
        with pytest.raises(FieldProblem, match="is empty"):
            coerce(field, raw)
    with pytest.raises(FieldProblem, match="item is empty"):
        coerce(TAGS, ["a", raw])
