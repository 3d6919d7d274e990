"""The YAML loader's safety checks, each pinned to its exact message and position.

``pathways.yamlsource.read`` is what stands between a definition file (or a
proposal's data file) and the engine: it refuses tags that would construct
objects, duplicate keys that YAML would silently resolve, merge keys, and
documents that expand without bound, and it keeps every value's 1-based
line and column so each problem points at its line. These tests were written
from the mutants that survived the validation and CLI tests (bench/MUTANTS.md):
every message, position and boundary below is one a mutant changed unnoticed.
"""

from __future__ import annotations

import pytest

from pathways.errors import Problem, UsageError
from pathways.yamlsource import Document, read, read_mapping


def problems(text: str) -> list[str]:
    return [str(p) for p in read(text, "f.yaml").problems]


# --- positions -----------------------------------------------------------------------------------


def test_every_key_and_value_is_located_one_based_as_editors_count() -> None:
    doc = read("a: 'x'\nb:\n  c: |\n    text\n  d: [1, 2]\n", "f.yaml")
    assert doc.data == {"a": "x", "b": {"c": "text\n", "d": [1, 2]}}
    assert doc.values == {
        (): (1, 1),
        ("a",): (1, 4),
        ("b",): (3, 3),
        ("b", "c"): (3, 6),
        ("b", "d"): (5, 6),
        ("b", "d", 0): (5, 7),
        ("b", "d", 1): (5, 10),
    }
    assert doc.keys == {("a",): (1, 1), ("b",): (2, 1), ("b", "c"): (3, 3), ("b", "d"): (5, 3)}
    # the scalar style is what maps a guard's column back to the file (quoted: one column further)
    assert doc.styles == {("a",): "'", ("b", "c"): "|", ("b", "d", 0): None, ("b", "d", 1): None}
    assert doc.path == "f.yaml" and doc.problems == []


def test_a_path_without_a_position_falls_back_to_its_nearest_located_parent() -> None:
    doc = read("a:\n  b: 1\n", "f.yaml")
    assert doc.at(("a", "b", "missing", 3)) == (2, 6)
    assert doc.at(("nowhere",)) == (1, 1)  # the root
    assert Document(path="f", text="").at(("x", "y")) == (1, 1)  # nothing located at all
    assert doc.key_at(("a", "b")) == (2, 3)
    assert doc.key_at(("a", "b", "missing")) == (2, 6)  # no key: the value's position


def test_recorded_problems_default_to_errors_at_the_value_or_the_key() -> None:
    doc = read("a:\n  b: 1\n", "f.yaml")
    doc.problem(("a", "b"), "value problem")
    doc.key_problem(("a", "b"), "key problem")
    doc.problem_at((7, 8), "explicit", "warning")
    assert doc.problems == [
        Problem("f.yaml", 2, 6, "error", "value problem"),
        Problem("f.yaml", 2, 3, "error", "key problem"),
        Problem("f.yaml", 7, 8, "warning", "explicit"),
    ]


# --- tags: nothing is ever constructed -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("a: !!python/object/apply:os.system ['true']\n", "!!python/object/apply:os.system"),
        ("a: !!binary aGVsbG8=\n", "!!binary"),
        ("a: !!set {x: null}\n", "!!set"),
        ("a: !thing 1\n", "!thing"),
    ],
)
def test_a_tag_outside_the_json_core_is_refused_at_its_line_and_never_built(text: str, tag: str) -> None:
    doc = read(text, "f.yaml")
    assert doc.data == {"a": None}
    assert [str(p) for p in doc.problems] == [
        f"f.yaml:1:4: error: tag {tag} is not allowed; definitions hold plain values only (remove the tag)"
    ]


def test_the_core_tags_are_accepted_and_give_plain_values() -> None:
    doc = read(
        "a: !!str 5\nb: !!int '7'\nc: !!float '2.5'\nd: !!null ''\ne: !!bool 'true'\n"
        "f: !!map {x: 1}\ng: !!seq [1]\nh: !!timestamp 2026-03-02\n",
        "f.yaml",
    )
    assert doc.problems == []
    assert doc.data == {"a": "5", "b": 7, "c": 2.5, "d": None, "e": True, "f": {"x": 1}, "g": [1], "h": "2026-03-02"}


def test_numbers_nulls_and_dates_read_as_json_would_and_dates_stay_strings() -> None:
    doc = read("a: 0x1F\nb: 1_000\nc: -0x10\nd: 1.5\ne: .inf\nf: ~\ng: null\nh: 2026-03-02\ni: 12:30\n", "f")
    assert doc.problems == []
    assert doc.data == {
        "a": 31,
        "b": 1000,
        "c": -16,
        "d": 1.5,
        "e": float("inf"),
        "f": None,
        "g": None,
        "h": "2026-03-02",
        "i": 750,
    }  # YAML 1.1 sexagesimal: 12*60+30, as PyYAML reads it
    assert type(doc.data["a"]) is int and type(doc.data["d"]) is float


# --- YAML 1.1 booleans ---------------------------------------------------------------------------


def test_true_and_false_in_any_case_are_booleans_without_a_warning() -> None:
    doc = read("a: true\nb: True\nc: FALSE\nd: false\n", "f.yaml")
    assert doc.data == {"a": True, "b": True, "c": False, "d": False}
    assert all(type(v) is bool for v in doc.data.values())
    assert doc.problems == []


def test_yaml_1_1_boolean_words_stay_text_and_are_flagged_as_warnings() -> None:
    doc = read("a: yes\nb: No\nc: OFF\nd: on\n", "f.yaml")
    assert doc.data == {"a": "yes", "b": "No", "c": "OFF", "d": "on"}
    assert [str(p) for p in doc.problems] == [
        f"f.yaml:{n}:4: warning: '{w}' is a YAML 1.1 boolean to some tools and a string to others; write "
        f'true/false, or quote it ("{w}") if you meant text'
        for n, w in enumerate(("yes", "No", "OFF", "on"), 1)
    ]


@pytest.mark.parametrize("word", ["y", "n", "Y", "N", "yEs", "nO", "oN", "oFF"])
def test_words_other_tools_read_as_booleans_are_flagged_when_plain(word: str) -> None:
    doc = read(f"a: {word}\n", "f.yaml")
    assert doc.data == {"a": word}
    assert [str(p) for p in doc.problems] == [
        f"f.yaml:1:4: warning: '{word}' is read as a boolean by YAML 1.1 tools; quote it (\"{word}\") if you meant text"
    ]


@pytest.mark.parametrize("text", ["a: 'y'\n", 'a: "no"\n', "a: 'on'\n", "a: yeah\n", "a: nope\n", "a: |\n  y\n"])
def test_quoted_or_other_words_are_plain_text_without_a_warning(text: str) -> None:
    doc = read(text, "f.yaml")
    assert doc.problems == []
    assert isinstance(doc.data["a"], str)


# --- keys ----------------------------------------------------------------------------------------


def test_a_duplicate_key_is_an_error_at_the_second_and_the_first_value_is_kept() -> None:
    doc = read("roles:\n  a: first\nother: 1\nroles:\n  b: second\nlast: 2\n", "f.yaml")
    assert doc.data == {"roles": {"a": "first"}, "other": 1, "last": 2}  # the keys after it are still read
    assert [str(p) for p in doc.problems] == [
        "f.yaml:4:1: error: duplicate key 'roles' (first at line 1); YAML would silently keep only the last "
        "one — remove or rename one"
    ]
    assert doc.keys[("roles",)] == (1, 1)


def test_a_nested_duplicate_names_the_line_of_the_first() -> None:
    doc = read("fields:\n  vendor: a\n  value: b\n  vendor: c\n  after: d\n", "f.yaml")
    assert doc.data == {"fields": {"vendor": "a", "value": "b", "after": "d"}}
    assert [str(p) for p in doc.problems] == [
        "f.yaml:4:3: error: duplicate key 'vendor' (first at line 2); YAML would silently keep only the last "
        "one — remove or rename one"
    ]


def test_keys_must_be_plain_names_and_merge_keys_are_refused() -> None:
    doc = read("[a]: 1\n~: 2\n{k: v}: 3\nb: &x {c: 1}\nd:\n  <<: *x\n  e: 4\n", "f.yaml")
    assert doc.data == {"b": {"c": 1}, "d": {"e": 4}}
    assert [str(p) for p in doc.problems] == [
        "f.yaml:1:1: error: keys must be plain names",
        "f.yaml:2:1: error: keys must be plain names",
        "f.yaml:3:1: error: keys must be plain names",
        "f.yaml:6:3: error: merge keys (<<) are not supported; write the keys out",
    ]


def test_an_alias_is_expanded_to_a_plain_copy() -> None:
    doc = read("a: &x [1, 2]\nb: *x\n", "f.yaml")
    assert doc.data == {"a": [1, 2], "b": [1, 2]} and doc.problems == []


# --- documents that cannot be read ---------------------------------------------------------------

BUDGET_MESSAGE = (
    "f.yaml:1:1: error: the document expands to more than 50000 values (aliases repeated too "
    "often?); refusing to read it"
)


def test_a_billion_laughs_document_is_refused_not_expanded() -> None:
    laughs = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
    )
    doc = read(laughs, "f.yaml")
    assert doc.data is None
    assert [str(p) for p in doc.problems] == [BUDGET_MESSAGE]


def test_the_value_budget_admits_exactly_fifty_thousand_values() -> None:
    # the root list is one value, each item another: 49,999 items make 50,000 values
    at_limit = read("[" + ",".join(["0"] * 49_999) + "]", "f.yaml")
    assert at_limit.problems == [] and len(at_limit.data) == 49_999
    over = read("[" + ",".join(["0"] * 50_000) + "]", "f.yaml")
    assert over.data is None
    assert [str(p) for p in over.problems] == [BUDGET_MESSAGE]


def test_an_alias_to_itself_is_refused_and_leaves_no_half_built_data() -> None:
    doc = read("a: &a [*a]\n", "f.yaml")
    assert doc.data is None
    assert [str(p) for p in doc.problems] == [
        "f.yaml:1:1: error: YAML nesting is too deep (or an alias refers to itself)"
    ]


def test_nesting_deeper_than_the_parser_can_follow_is_refused() -> None:
    assert problems("[" * 3000 + "]" * 3000) == ["f.yaml:1:1: error: YAML nesting is too deep"]


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_an_empty_file_says_what_a_definition_holds(text: str) -> None:
    doc = read(text, "f.yaml")
    assert doc.data is None
    assert [str(p) for p in doc.problems] == [
        "f.yaml:1:1: error: the file is empty; a pathway definition is a mapping with id, version, stages ..."
    ]


def test_an_unreadable_character_is_refused_with_the_first_line_of_the_reason() -> None:
    assert problems("a: \x07\n") == [
        "f.yaml:1:1: error: YAML: unacceptable character #x0007: special characters are not allowed"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "a:\n\tb: 1\n",
            "2:1: error: YAML syntax: while scanning for the next token found character '\\t' that "
            "cannot start any token: YAML does not allow tabs for indentation; indent with spaces",
        ),
        (
            "a:\n  b: 1\n c: 2\n",
            "3:2: error: YAML syntax: while parsing a block mapping expected <block end>, but "
            "found '<block mapping start>' (it started at line 1, column 1): check this line's indentation against the "
            "lines above it",
        ),
        (
            "a: b: c\n",
            "1:5: error: YAML syntax: mapping values are not allowed here: a value containing ': ' must be quoted",
        ),
        (
            "a: 1\nb\nc: 2\n",
            "3:1: error: YAML syntax: while scanning a simple key could not find expected ':' (it "
            "started at line 2, column 1): a key needs ': ' after it (or quote the text)",
        ),
        (
            "a: [1, 2\nb: 3\n",
            "2:2: error: YAML syntax: while parsing a flow sequence expected ',' or ']', but got ':' "
            "(it started at line 1, column 4): a [list] is not closed; add the ']'",
        ),
        (
            "a: {x: 1\nb: 3\n",
            "2:2: error: YAML syntax: while parsing a flow mapping expected ',' or '}', but got ':' "
            "(it started at line 1, column 4): a {mapping} is not closed; add the '}'",
        ),
        (
            "a: 1\n---\nb: 2\n",
            "2:1: error: YAML syntax: expected a single document in the stream but found another "
            "document (it started at line 1, column 1)",
        ),
        (
            "a: 'abc\n",
            "2:1: error: YAML syntax: while scanning a quoted scalar found unexpected end of stream (it "
            "started at line 1, column 4)",
        ),
    ],
)
def test_a_syntax_error_is_located_and_explained_in_plain_words(text: str, expected: str) -> None:
    doc = read(text, "f.yaml")
    assert doc.data is None
    assert [str(p) for p in doc.problems] == ["f.yaml:" + expected]


def test_a_syntax_error_whose_context_is_on_the_same_line_does_not_repeat_it() -> None:
    # context and problem both on line 1: no "(it started at ...)"
    assert problems("a: [1 }\n") == [
        "f.yaml:1:7: error: YAML syntax: while parsing a flow sequence expected ',' or ']', but got '}': a [list] "
        "is not closed; add the ']'"
    ]


# --- proposal data files ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "  \n\t\n"])
def test_an_empty_data_file_is_no_data(text: str) -> None:
    assert read_mapping(text, "data.yaml") == {}


def test_a_data_file_is_read_like_a_definition() -> None:
    assert read_mapping('{"vendor": "Acme", "value": 5}', "data.json") == {"vendor": "Acme", "value": 5}
    assert read_mapping("vendor: yes\n", "data.yaml") == {"vendor": "yes"}  # a warning does not refuse it


def test_a_duplicate_key_in_a_data_file_is_refused_at_its_line() -> None:
    with pytest.raises(UsageError) as caught:
        read_mapping("value: 1\nvalue: 2\nvendor: !!python/name:os.system\n", "data.yaml")
    assert str(caught.value) == (
        "data.yaml:2:1: error: duplicate key 'value' (first at line 1); YAML would "
        "silently keep only the last one — remove or rename one"
    )
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text\n", "5\n"])
def test_a_data_file_that_is_not_a_mapping_is_refused(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        read_mapping(text, "data.yaml")
    assert str(caught.value) == "data.yaml: expected a mapping of field: value"
