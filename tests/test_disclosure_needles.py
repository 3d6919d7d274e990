"""The disclosure check's needles as pure functions: which text each confidential value is found in, and which not.

``tests/test_disclosure.py`` drives the check through the engine, bundles and
reports. The mutants of ``engine/disclosure.py`` showed where that leaves room:
a spelling that stops matching (a leak), a boundary that starts matching
inside a hash or a longer number (every export refused for nothing), a label
or a place that names the wrong field, entry or line. Each table below is the
specification of one value's spellings, both ways.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest

from engine.disclosure import (
    ATTACHMENT_SECRET,
    RATIONALE_SECRET,
    Hit,
    check,
    date_pattern,
    date_spellings,
    distinctive_number,
    free_text_quotes,
    known_needles,
    money_spellings,
    needles,
    neutral_name,
    number_pattern,
    quotes,
    recorded_attachments,
    scan,
    text_pattern,
    value_needles,
    value_patterns,
    views,
    withheld_reason,
)
from engine.errors import DisclosureRisk
from pathways import loads

RULES = """\
id: needles
version: 1
title: Needles
kind: pilot
summary: For the disclosure unit tests; the cap is 50000 and the stage is Shortlist.
legal_basis:
  - cite: "Code 1"
limits: {cap: 50000}
roles:
  officer: does everything
fields:
  vendor: {type: string, required: true}
  price: {type: money, required: true, confidential: true}
  units: {type: integer, confidential: true}
  ratio: {type: number, confidential: true}
  opens_on: {type: date, confidential: true}
  partner: {type: string, confidential: true}
  bidders: {type: list, confidential: true}
  secret_ok: {type: boolean, confidential: true}
  grade: {type: enum, values: [gold, silver], confidential: true}
initial: open
stages:
  open: {description: Open.}
  done: {description: Done., final: true, outcome: contracted}
transitions:
  - trigger: close
    from: open
    to: done
    roles: [officer]
    requires: [rationale]
"""


@pytest.fixture(scope="module")
def pathway() -> Any:
    return loads(RULES, "needles.yaml")


def hits(pattern: str | None, text: str) -> bool:
    assert pattern is not None
    return re.search(pattern, text.casefold()) is not None


# --- numbers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "distinctive"),
    [
        ("585000", True),  # 3 significant digits
        ("585", True),
        ("12.5", True),  # 125
        ("-12.5", True),  # the sign does not count
        ("12.50", True),
        ("12", False),
        ("2.5", False),
        ("300", False),
        ("9000", False),
        ("10000", True),  # 10,000 or more, whatever its digits
        ("500000", True),
        ("0.05", False),
    ],
)
def test_a_number_is_searched_with_three_significant_digits_or_from_ten_thousand(
    number: str, distinctive: bool
) -> None:
    assert distinctive_number(Decimal(number)) is distinctive
    assert (number_pattern(number) is not None) is distinctive


AMOUNT_FOUND = [
    "585000",
    "585,000",
    "$585,000",
    "585000.00",
    "$585,000.00",
    "585000.0",
    "$585K",
    "585 k",
    "585 thousand",
    "(585,000)",
    "total: 585000.",
]
AMOUNT_NOT_FOUND = ["1585000", "5850000", "585000.5", "1,585,000", "585,0001", "x585000", "585000x", "585,000.01"]


@pytest.mark.parametrize("text", AMOUNT_FOUND)
def test_every_spelling_of_an_amount_is_found(text: str) -> None:
    assert hits(number_pattern("585000", money=True), f"we pay {text} now")


@pytest.mark.parametrize("text", AMOUNT_NOT_FOUND)
def test_an_amount_is_not_found_inside_a_longer_number_or_word(text: str) -> None:
    assert not hits(number_pattern("585000", money=True), f"we pay {text} now")


@pytest.mark.parametrize("text", ["$2.4M", "2.4 million", "2,400,000", "2400k", "2,400 thousand"])
def test_a_round_million_is_found_as_millions_and_thousands(text: str) -> None:
    assert hits(number_pattern("2400000"), text)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("1000000", "$1M"),
        ("1000000", "1 million"),
        ("10000000", "10 million"),
        ("10000000", "$10M"),
        ("120000000", "120 million"),
    ],
)
def test_a_million_and_its_multiples_are_found_as_millions(value: str, text: str) -> None:
    assert hits(number_pattern(value), text)


def test_only_round_amounts_have_thousand_and_million_spellings() -> None:
    assert not hits(number_pattern("585500"), "585k")  # not a whole thousand
    assert not hits(number_pattern("2405000"), "2.405 million")  # not a whole ten thousand
    assert hits(number_pattern("2405000"), "2405k")
    assert not hits(number_pattern("585"), "0.585k")  # under a thousand: no k form at all
    assert not hits(number_pattern("5850"), "5.85k")


@pytest.mark.parametrize(
    ("value", "found", "not_found"),
    [
        ("12.50", ["12.5", "$12.50", "12.500"], ["12", "12.05", "12.51", "112.5"]),
        ("1234", ["1234", "1,234", "1234.00"], ["1.234", "12345"]),
        ("12.05", ["12.05", "12.050"], ["12.5", "12.005"]),
        ("$1,200.50", ["1200.5", "1,200.50"], ["1200", "1200.05"]),
        (585000, ["585,000"], ["585,001"]),
        (Decimal("-585000"), ["585000"], []),
    ],
)
def test_a_number_with_cents_or_separators_is_found_as_written_any_way(
    value: Any, found: list[str], not_found: list[str]
) -> None:
    pattern = number_pattern(value)
    for text in found:
        assert hits(pattern, text), text
    for text in not_found:
        assert not hits(pattern, text), text


@pytest.mark.parametrize("value", [True, False, "not a number", "inf", "NaN", None, "1e999999999"])
def test_what_is_not_a_finite_number_has_no_number_pattern(value: Any) -> None:
    assert number_pattern(value) is None


@pytest.mark.parametrize("text", ["1e999999999", "-1E+9999999"])
def test_text_that_parses_as_a_number_beyond_decimals_range_is_text(pathway: Any, text: str) -> None:
    """A vendor may call itself ``1e999999999``: searching it (or exempting it as public) must not overflow."""
    assert number_pattern(text) is None
    (needle,) = needles(pathway, [secret("partner", text)], public=[text + "0", "Acme"])
    assert needle.pattern.search(text.casefold())
    assert needles(pathway, [secret("partner", text)], public=[text]) == []


def test_money_spellings_are_the_ones_people_write() -> None:
    assert money_spellings("585000") == ["585000", "585,000", "$585,000.00", "585000.00", "$585,000", "585,000.00"]
    assert money_spellings("12.5") == ["12.5", "12.50", "$12.50"]
    for spelling in money_spellings("1234567.89"):
        assert hits(number_pattern("1234567.89"), spelling), spelling


# --- dates ---------------------------------------------------------------------------------------

DATE_FOUND = [
    "2026-03-02",
    "03/02/2026",
    "3/2/2026",
    "3-2-2026",
    "03-02-2026",
    "March 2, 2026",
    "march 2 2026",
    "Mar 2, 2026",
    "Mar. 2, 2026",
    "March 2nd, 2026",
    "2 March 2026",
    "2nd of March, 2026",
    "02 Mar 2026",
]
DATE_NOT_FOUND = [
    "2026-03-02T10:00:00Z",  # the time of an act on that day
    "2026-03-02 10:00",
    "2026-03-21",
    "12026-03-02",
    "13/2/2026",
    "3/2/20261",
    "a/3/2/2026",
    "x2026-03-02",
    "March 22, 2026",
    "March 2, 2027",
    "May 2, 2026",
]


@pytest.mark.parametrize("text", DATE_FOUND)
def test_every_spelling_of_a_date_is_found(text: str) -> None:
    assert hits(date_pattern("2026-03-02"), f"opens {text}.")


@pytest.mark.parametrize("text", DATE_NOT_FOUND)
def test_another_date_a_timestamp_or_a_longer_token_is_not_the_date(text: str) -> None:
    assert not hits(date_pattern("2026-03-02"), f"opens {text}.")


def test_september_is_also_sept() -> None:
    pattern = date_pattern("2026-09-02")
    assert hits(pattern, "Sept. 2, 2026") and hits(pattern, "Sep 2, 2026") and hits(pattern, "September 2, 2026")
    assert not hits(date_pattern("2026-10-02"), "Sept 2, 2026")


@pytest.mark.parametrize("day", [dt.date(2026, m, d) for m, d in ((1, 31), (6, 15), (12, 1))])
def test_date_spellings_are_all_found(day: dt.date) -> None:
    spellings = date_spellings(day.isoformat())
    month = day.strftime("%B")
    assert spellings == [
        day.isoformat(),
        f"{day.month:02d}/{day.day:02d}/{day.year}",
        f"{day.month}/{day.day}/{day.year}",
        f"{month} {day.day}, {day.year}",
        f"{month[:3]} {day.day}, {day.year}",
    ]
    for spelling in spellings:
        assert hits(date_pattern(day.isoformat()), spelling), spelling


def test_what_is_not_a_date_has_no_date_pattern() -> None:
    assert date_pattern("not a date") is None and date_pattern("2026-02-30") is None


# --- text ----------------------------------------------------------------------------------------


def test_text_is_found_whatever_its_case_and_whitespace() -> None:
    pattern = text_pattern("Zenith  Partners LLC")
    for text in ("zenith partners llc", "ZENITH\nPARTNERS   LLC", "ZenithPartnersLLC", "xxZenith Partners LLCxx"):
        assert hits(pattern, text), text
    assert not hits(pattern, "Zenith Partner LLC")


def test_text_shorter_than_eight_characters_is_found_only_as_a_whole_word() -> None:
    pattern = text_pattern("Acme")
    assert hits(pattern, "by Acme.") and hits(pattern, "ACME") and hits(pattern, "(acme)")
    for text in ("Acmeville", "theacme", "a0acme", "acme_x", "x_acme"):
        assert not hits(pattern, text), text
    seven = text_pattern("Kestrel")
    assert hits(seven, "Kestrel ltd") and not hits(seven, "Kestrels")
    eight = text_pattern("Kestrels")  # 8 characters: anywhere
    assert hits(eight, "xKestrelsx")


def test_a_whole_word_bound_is_only_put_where_the_text_has_a_word_character() -> None:
    assert hits(text_pattern("#acme"), "x#acme") and not hits(text_pattern("#acme"), "#acmes")
    assert hits(text_pattern("acme#"), "acme#x") and not hits(text_pattern("acme#"), "xacme#")
    assert hits(text_pattern("_ab_"), "_ab_") and not hits(text_pattern("_ab_"), "x_ab_")
    assert not hits(text_pattern("_ab_"), "_ab_x")


@pytest.mark.parametrize("text", ["abc", " a b c ", "vendor", "Vendor", "CONFIDENTIAL", "  award  ", ""])
def test_short_and_common_text_is_not_searched(text: str) -> None:
    assert text_pattern(text) is None


def test_four_characters_are_enough() -> None:
    assert text_pattern("XXXX") is not None  # no rules given: nothing is exempt
    assert text_pattern("a b c d") is not None and text_pattern("abcd") is not None


def test_text_the_public_rules_spell_as_a_word_is_not_searched() -> None:
    rules = "stage shortlist, cap 50000"
    assert text_pattern("Shortlist", known=rules) is None
    assert text_pattern("short", known=rules) is not None  # only inside a word of the rules: still secret
    assert text_pattern("Shortlist", known="") is not None


# --- one value of each type ----------------------------------------------------------------------


def test_booleans_enums_and_missing_values_are_never_searched() -> None:
    for value, kind in (
        (True, "boolean"),
        ("gold", "enum"),
        (None, "string"),
        (False, "text"),
        ("Zenith Partners", "boolean"),
        ("Zenith Partners", "enum"),
        (None, "money"),
        (None, "date"),
    ):
        assert value_patterns(value, kind) == []


def test_each_item_of_a_list_is_searched_and_named_by_its_place() -> None:
    patterns = value_patterns(["Orbital Works", "ab", "Kestrel Ltd"], "list")
    assert [what for what, _ in patterns] == ["item 1 of", "item 3 of"]
    assert hits(patterns[1][1], "kestrel ltd") and not hits(patterns[1][1], "orbital works")
    assert [what for what, _ in value_patterns("Orbital Works", "list")] == ["item 1 of"]
    assert [what for what, _ in value_patterns(["Orbital Works"], "string")] == ["item 1 of"]


def test_numbers_dates_and_text_each_get_their_own_spellings() -> None:
    ((what, money),) = value_patterns("585000", "money")
    assert what == "the value of" and hits(money, "$585K")
    assert value_patterns("12", "integer") == [] and value_patterns("2.5", "number") == []
    ((_, units),) = value_patterns(1234, "integer")
    assert hits(units, "1,234")
    ((_, day),) = value_patterns("2026-03-02", "date")
    assert hits(day, "March 2, 2026")
    assert value_patterns("soon", "date") == []
    ((_, name),) = value_patterns("Zenith Partners", "string")
    assert hits(name, "zenith partners")


def test_each_number_kind_is_searched_as_a_number_and_each_date_is_labelled_as_its_value() -> None:
    for kind in ("money", "number", "integer"):
        ((what, pattern),) = value_patterns("12.50", kind)
        assert what == "the value of" and hits(pattern, "12.5") and hits(pattern, "$12.50"), kind
    assert value_patterns("2026-03-02", "date")[0][0] == "the value of"


def test_text_the_rules_spell_is_left_out_when_the_rules_are_given() -> None:
    assert value_patterns("Shortlist", "string", known="the shortlist stage") == []
    assert value_patterns(["Shortlist", "Kestrel Ltd"], "list", known="the shortlist stage")[0][0] == "item 2 of"
    assert value_patterns("Shortlist", "string")[0][0] == "the value of"


def test_an_amount_quoted_in_confidential_text_is_searched_as_an_amount() -> None:
    patterns = value_patterns("Paid $1,200.50 and $585000 to Acme; $12 fee", "text")
    assert [what for what, _ in patterns] == ["the value of", "an amount quoted in", "an amount quoted in"]
    assert hits(patterns[1][1], "1200.5") and hits(patterns[2][1], "$585K")
    assert value_patterns("$ 5850 only", "text")[1][0] == "an amount quoted in"  # a space after the sign


# --- the needles of a proposal -------------------------------------------------------------------


def secret(field: str, value: Any, seq: int = 3, salt: str | None = None) -> dict[str, Any]:
    return {"field": field, "seq": seq, "value": value, "salt": salt}


def test_each_needle_names_its_field_and_entry_never_its_value(pathway: Any) -> None:
    found = needles(
        pathway,
        [
            secret("price", "585000", 3, "ab12cd34ef"),
            secret("bidders", ["Orbital Works", "Kestrel Ltd"], 4),
            secret(RATIONALE_SECRET, "Beats the others", 5, "99ffee"),
            secret(ATTACHMENT_SECRET + "2", "Zenith-pricing.pdf", 6),
        ],
    )
    assert [(n.field, n.seq, n.label) for n in found] == [
        ("price", 3, "the salt of confidential 'price' (entry 3)"),
        ("price", 3, "the value of confidential 'price' (entry 3)"),
        ("bidders", 4, "item 1 of confidential 'bidders' (entry 4)"),
        ("bidders", 4, "item 2 of confidential 'bidders' (entry 4)"),
        (RATIONALE_SECRET, 5, "the salt of the withheld rationale (entry 5)"),
        (RATIONALE_SECRET, 5, "the value of the withheld rationale (entry 5)"),
        (ATTACHMENT_SECRET + "2", 6, "the value of the original name of attachment 2 (entry 6)"),
    ]
    assert found[0].pattern.search("salt ab12cd34ef here") and not found[0].pattern.search("ab12cd34e")
    assert found[4].pattern.search("99FFEE".casefold())


def test_salts_are_left_out_when_asked(pathway: Any) -> None:
    found = needles(pathway, [secret("price", "585000", 3, "ab12cd34ef")], salts=False)
    assert [n.label for n in found] == ["the value of confidential 'price' (entry 3)"]
    assert [n.label for n in needles(pathway, [secret("price", "12", 3, "")])] == []  # no salt, not distinctive


def test_a_field_the_pathway_does_not_declare_is_searched_as_text(pathway: Any) -> None:
    (needle,) = needles(pathway, [secret("gone", "Zenith Partners")])
    assert needle.label == "the value of confidential 'gone' (entry 3)" and needle.pattern.search("zenith partners")
    (untyped,) = needles(None, [secret("price", "Zenith Partners")])
    assert untyped.pattern.search("zenith partners")
    assert needles(None, [secret("price", "12,000")])[0].pattern.search("12,000")  # as text, not as an amount
    assert not needles(None, [secret("price", "12,000")])[0].pattern.search("12000")


def test_a_value_shown_in_a_public_field_is_not_searched(pathway: Any) -> None:
    assert needles(pathway, [secret("price", "585000")], public=["585,000.00"]) == []
    assert needles(pathway, [secret("price", "585000")], public=[585000]) == []
    assert needles(pathway, [secret("partner", "Zenith  Partners")], public=["ZENITH partners"]) == []
    assert needles(pathway, [secret("bidders", ["Orbital Works", None])], public=[["orbital works"]]) == []
    # every item must be public for the value to be skipped
    assert len(needles(pathway, [secret("bidders", ["Orbital Works", "Kestrel Ltd"])], public=["Orbital Works"])) == 2
    # a public boolean is not a number: True is not 1
    assert len(needles(pathway, [secret("units", 1000001)], public=[True, 1000002, 3.5])) == 1


def test_a_value_shown_publicly_in_another_spelling_of_the_same_number_is_not_searched(pathway: Any) -> None:
    assert needles(pathway, [secret("ratio", "12.50")], public=["12.5"]) == []
    assert needles(pathway, [secret("price", "10000.00")], public=["10000"]) == []  # normalised: 1E+4
    assert needles(pathway, [secret("price", "585,000")], public=[585000]) == []
    assert len(needles(pathway, [secret("price", "585001")], public=["585000"])) == 1


def test_a_value_skipped_as_public_does_not_stop_the_next_one(pathway: Any) -> None:
    found = needles(pathway, [secret("price", "585000", 2), secret("partner", "Zenith Partners", 3)], public=["585000"])
    assert [(n.field, n.seq) for n in found] == [("partner", 3)]


def test_a_list_item_the_rules_spell_does_not_stop_the_next_item(pathway: Any) -> None:
    found = needles(pathway, [secret("bidders", ["Shortlist", "Kestrel Ltd"])])
    assert [n.label for n in found] == ["item 2 of confidential 'bidders' (entry 3)"]


def test_without_a_pathway_no_text_is_exempt_as_spelled_by_rules() -> None:
    (needle,) = needles(None, [secret("partner", "XXXX")])
    assert needle.pattern.search("xxxx")
    assert value_patterns("XXXX", "string")[0][0] == "the value of"


def test_a_value_the_published_rules_spell_is_not_searched(pathway: Any) -> None:
    assert needles(pathway, [secret("price", "50000")]) == []  # the cap, printed in the rules
    assert needles(pathway, [secret("partner", "Shortlist")]) == []  # a word of the summary
    assert len(needles(pathway, [secret("price", "50001")])) == 1


def test_value_needles_are_the_values_in_hand_without_salts(pathway: Any) -> None:
    found = value_needles(pathway, {"price": "585000", "partner": "Zenith Partners"}, seq=7, public=["Zenith Partners"])
    assert [(n.field, n.seq, n.label) for n in found] == [("price", 7, "the value of confidential 'price' (entry 7)")]
    assert value_needles(pathway, {"price": "585000"})[0].seq == 0


def test_known_needles_are_the_kept_values_and_the_entrys_confidential_inputs(pathway: Any) -> None:
    kept = [secret("price", "585000", 2, "aa11"), secret(RATIONALE_SECRET, "Withheld words here", 3, "bb22")]
    found = known_needles(
        pathway,
        kept,
        data={"vendor": "Acme Corp", "price": "585000"},
        inputs={"partner": "Zenith Partners", "vendor": "Kestrel Ltd"},
    )
    # no salts; the withheld rationale aside; the public vendor (data and inputs) not searched; the entry's own
    # confidential input at seq 0
    assert [(n.field, n.seq) for n in found] == [("price", 2), ("partner", 0)]
    assert not known_needles(pathway, kept, data={"vendor": "585000"}, inputs={})  # shown publicly
    assert known_needles(pathway, [], data={}, inputs={"vendor": "Zenith Partners"}) == []  # vendor is public


def test_known_needles_spell_each_kept_value_by_its_field_type(pathway: Any) -> None:
    kept = [secret("price", "585000", 2), secret("units", "50000", 2)]  # 50000 is the cap the rules print
    found = known_needles(pathway, kept, data={}, inputs={})
    assert [(n.field, n.seq) for n in found] == [("price", 2)]
    assert quotes("offered $585K", found) == ["price"]  # an amount, not only the digits as text


def test_known_needles_without_a_pathway_search_nothing_kept_for_fields_it_does_not_declare_confidential() -> None:
    # A kept value is searched only for a field the rules declare confidential: a public field's free text kept
    # concealed (a --set value that quoted a confidential one) is not itself a confidential value.
    found = known_needles(None, [secret("partner", "Zenith Partners", 2)], data={}, inputs={"vendor": "Kestrel Ltd"})
    assert [(n.field, n.seq) for n in found] == []


# --- searching -----------------------------------------------------------------------------------


def test_files_are_searched_as_written_and_as_json_html_and_markdown_decode_them() -> None:
    assert views("plain") == [("", "plain")]
    assert views("A\\u00e9\\nB") == [("", "a\\u00e9\\nb"), (" (JSON-escaped)", "aé b")]
    assert views("A &amp; B") == [("", "a &amp; b"), (" (HTML/Markdown-escaped)", "a & b")]
    assert views('\\"Q\\" &lt;b&gt;') == [
        ("", '\\"q\\" &lt;b&gt;'),
        (" (JSON-escaped)", '"q" &lt;b&gt;'),
        (" (HTML/Markdown-escaped)", '\\"q\\" <b>'),
        (" (JSON-escaped) (HTML/Markdown-escaped)", '"q" <b>'),
    ]


@pytest.mark.parametrize(
    ("escaped", "decoded"),
    [
        ("\\u0041\\u00C9", "aé"),  # code points, either case of hex
        ("a\\u0009b\\u00a0c", "a b c"),  # escaped whitespace reads as a space
        ('\\"\\\\\\/', '"\\/'),
        ("a\\bb\\fc\\nd\\re\\tf", "a b c d e f"),
    ],
)
def test_json_escapes_decode_to_what_a_reader_sees(escaped: str, decoded: str) -> None:
    assert dict(views(escaped))[" (JSON-escaped)"] == decoded


@pytest.mark.parametrize(
    ("escaped", "decoded"),
    [
        ("Zenith\\-Partners\\_LLC", "zenith-partners_llc"),
        ("a\\*b\\`c\\#d\\+e\\!f\\|g\\~h\\.i\\(j\\)k\\[l\\]m\\{n\\}o", "a*b`c#d+e!f|g~h.i(j)k[l]m{n}o"),
        ("a<br>b<BR/>c<br />d", "a b c d"),
        ("&#36;585&#44;000 &quot;x&quot;", '$585,000 "x"'),
    ],
)
def test_html_entities_markdown_escapes_and_line_breaks_decode(escaped: str, decoded: str) -> None:
    assert dict(views(escaped))[" (HTML/Markdown-escaped)"] == decoded


def test_a_hit_names_the_file_the_line_and_how_it_was_decoded(pathway: Any) -> None:
    found = value_needles(pathway, {"price": "585000", "partner": "Zenith Partners"}, seq=4)
    files = {
        "trail.jsonl": b'{"a": 1}\n{"b": 2}\n{"note": "Zenith\\u0020Partners"}\n',
        "report.html": "<p>one</p>\n<p>$585&#44;000</p>",
        "clean.txt": "nothing here\n585000000\n",
        "report.md": "line\nline\nline\n**585,000** and zenith partners",
    }
    assert scan(files, found) == [
        Hit("the value of confidential 'partner' (entry 4)", "partner", 4, "trail.jsonl line 3 (JSON-escaped)"),
        Hit("the value of confidential 'price' (entry 4)", "price", 4, "report.html line 2 (HTML/Markdown-escaped)"),
        Hit("the value of confidential 'price' (entry 4)", "price", 4, "report.md line 4"),
        Hit("the value of confidential 'partner' (entry 4)", "partner", 4, "report.md line 4"),
    ]
    assert (
        str(scan({"f": "zenith partners"}, found)[0])
        == "the value of confidential 'partner' (entry 4) appears in f line 1"
    )
    assert scan({"a.bin": b"\xff\xfe 585,000"}, found)[0].place == "a.bin line 1"  # undecodable bytes replaced
    assert scan({"b.txt": "\n585,000"}, found)[0].place == "b.txt line 2"  # a first empty line counts


def test_check_refuses_naming_every_hit_once_and_sorted_never_the_value(pathway: Any) -> None:
    found = value_needles(pathway, {"price": "585000", "partner": "Zenith Partners"}, seq=4)
    files = {"b.txt": "585,000 and Zenith Partners", "a.txt": "$585K"}
    with pytest.raises(DisclosureRisk) as caught:
        check(files, found, what="public export", advice="Export a private bundle")
    assert str(caught.value) == (
        "public export refused: the value of confidential 'partner' (entry 4) appears in b.txt line 1; "
        "the value of confidential 'price' (entry 4) appears in a.txt line 1; "
        "the value of confidential 'price' (entry 4) appears in b.txt line 1. Export a private bundle"
    )
    assert caught.value.exit_code == 1
    with pytest.raises(DisclosureRisk) as plain:
        check({"a.txt": "$585K"}, found)
    assert (
        str(plain.value) == "public output refused: the value of confidential 'price' (entry 4) appears in a.txt line 1"
    )
    check({"a.txt": "nothing confidential", "b.txt": "5850000"}, found)  # no hit: no error


def test_quotes_names_each_quoted_field_once_sorted(pathway: Any) -> None:
    found = value_needles(
        pathway, {"price": "585000", "partner": "Zenith Partners", "bidders": ["Orbital Works", "Kestrel Ltd"]}
    )
    assert quotes("Kestrel Ltd beat Orbital Works at $585K; Zenith\\u0020Partners lost", found) == [
        "bidders",
        "partner",
        "price",
    ]
    assert quotes("Orbital &amp; Kestrel", found) == []
    assert quotes("ORBITAL&#32;WORKS", found) == ["bidders"]


def test_free_text_quotes_lists_each_text_that_quotes_a_value(pathway: Any) -> None:
    found = value_needles(pathway, {"price": "585000", "partner": "Zenith Partners"})
    texts = [
        ("rationale", "At $585,000."),
        ("attachment 1", "notes.pdf"),
        ("attachment 2", "zenith partners.pdf"),
        ("attachment 3", ""),
    ]
    assert free_text_quotes(texts, found) == [
        {"what": "rationale", "quotes": ["price"]},
        {"what": "attachment 2", "quotes": ["partner"]},
    ]


def test_the_withheld_reason_names_the_fields_never_the_values() -> None:
    assert withheld_reason({"what": "rationale", "quotes": ["partner", "price"]}) == (
        "the rationale quotes a confidential value (partner, price); it is withheld from the record and kept as a "
        "confidential value: write it without the value"
    )
    assert withheld_reason({"what": "attachment 2", "quotes": ["price"]}).startswith(
        "the name of attachment 2 quotes a confidential value (price); "
    )


# --- attachment names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("original", "neutral"),
    [
        ("Acme-pricing.PDF", "attachment-3.pdf"),
        ("scan.tiff", "attachment-3.tiff"),
        ("a.b.docx", "attachment-3.docx"),
        ("Zenith.secret", "attachment-3"),
        ("README", "attachment-3"),
        (".pdf", "attachment-3"),  # a hidden file's name, not an extension
        ("notes.", "attachment-3"),
    ],
)
def test_a_neutral_name_keeps_only_a_plain_extension(original: str, neutral: str) -> None:
    assert neutral_name(3, original) == neutral


class _File:
    def __init__(self, name: str, sha256: str, size: int) -> None:
        self.name, self.sha256, self.size = name, sha256, size


def test_recorded_attachments_keep_the_original_aside_with_its_own_salt() -> None:
    from engine.audit import salted_hash

    refs, kept = recorded_attachments([_File("Zenith bid.pdf", "aa" * 32, 10), _File("plan.xyz", "bb" * 32, 20)])
    assert [r["name"] for r in refs] == ["attachment-1.pdf", "attachment-2"]
    assert [(r["sha256"], r["size"]) for r in refs] == [("aa" * 32, 10), ("bb" * 32, 20)]
    assert list(kept) == [ATTACHMENT_SECRET + "1", ATTACHMENT_SECRET + "2"]
    for ref, (salt, original) in zip(refs, kept.values(), strict=True):
        assert ref["original"] == {"salted_sha256": salted_hash(original, salt)}
    assert [original for _, original in kept.values()] == ["Zenith bid.pdf", "plan.xyz"]
    assert kept[ATTACHMENT_SECRET + "1"][0] != kept[ATTACHMENT_SECRET + "2"][0]  # a salt each
