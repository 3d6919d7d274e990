"""Tests for pathways.celcheck: the pure-Python CEL parser and type checker behind `pathways validate`.

The syntax tests are checked against the real CEL implementation (the Rust-backed `cel` package the
engine runs guards with), so that a guard we accept is one the engine can compile, and vice versa.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pathways.celcheck import (
    BOOL,
    BYTES,
    DOUBLE,
    DURATION,
    DYN,
    INT,
    STRING,
    TIMESTAMP,
    UINT,
    Binary,
    Call,
    Comprehension,
    Conditional,
    ExprProblem,
    Has,
    Ident,
    Index,
    ListLit,
    ListType,
    Literal,
    MapLit,
    MapType,
    MessageLit,
    ObjectType,
    ParseError,
    Select,
    Unary,
    check,
    check_guard,
    parse,
)

ENV = {
    "proposal": ObjectType(
        "proposal",
        {
            "id": STRING,
            "state": STRING,
            "days_in_stage": INT,
            "vendor": STRING,
            "value": DOUBLE,
            "proprietary": BOOL,
            "end_date": TIMESTAMP,
            "category": STRING,
        },
    ),
    "pathway": ObjectType(
        "pathway",
        {
            "id": STRING,
            "version": INT,
            "limits": ObjectType("pathway.limits", {"max_value": INT, "max_duration_days": INT}),
        },
    ),
    "input": ObjectType("input", {"rationale": STRING}),
    "actor": ObjectType("actor", {"name": STRING, "roles": ListType(STRING)}),
    "now": TIMESTAMP,
}


def syntax_ok(text: str) -> bool:
    try:
        parse(text)
    except ParseError:
        return False
    return True


# ------------------------------------------------------------------------------------ good guards

GOOD_GUARDS = [
    "proposal.value <= pathway.limits.max_value",
    "proposal.value > 0.0 && proposal.days_in_stage >= 3",
    "proposal.days_in_stage < proposal.value",
    "proposal.vendor == 'ACME' || proposal.proprietary",
    "!proposal.proprietary",
    "!!proposal.proprietary",
    "size(input.rationale) > 10",
    "input.rationale.size() > 10u",
    "'admin' in actor.roles",
    "actor.roles.exists(r, r == 'buyer')",
    "actor.roles.all(r, r.startsWith('a') || r.endsWith('z'))",
    "actor.roles.exists_one(r, r.contains('x'))",
    "actor.roles.filter(r, r.matches('^a.*')).size() == 1",
    "actor.roles.map(r, size(r)).all(n, n > 0)",
    "actor.roles.map(r, r != '', r.size()).exists(n, n > 2)",
    "has(proposal.vendor) && proposal.vendor != ''",
    "now - proposal.end_date > duration('24h')",
    "proposal.end_date + duration('1h30m') < now",
    "proposal.end_date.getDayOfWeek() < 6",
    "now.getFullYear() == 2025 && now.getMonth() < 12",
    "duration('2h').getMinutes() == 120",
    "proposal.end_date < timestamp('2025-09-01T00:00:00Z')",
    "int(proposal.value) + 1 > pathway.limits.max_value",
    "double(pathway.limits.max_value) * 1.5 >= proposal.value",
    "string(pathway.version) == '1'",
    "proposal.state in ['draft', 'review',]",
    "proposal.category in {'it': 1, 'works': 2}",
    "{'a': 1}['a'] == 1 && {'a': 1}.a == 1",
    "[1, 2, 3][0] == 1",
    "proposal.value > 10.0 ? proposal.proprietary : true",
    "type(proposal.value) == double",
    "dyn(proposal.value) == 1",
    "proposal.value == null || true",
    "b'abc' + b'd' == b'abcd'",
    "'a' + \"b\" + '''c''' + r'\\d' == 'abc\\\\d'",
    "1u + 2u == 3u && -9223372036854775808 < 0 && 0x1F == 31",
    "proposal.days_in_stage % 7 == 0",
    ".proposal.proprietary",
    "proposal.value > 1.0 // a comment\n  && proposal.proprietary",
]


@pytest.mark.parametrize("text", GOOD_GUARDS)
def test_good_guards_have_no_problems(text: str) -> None:
    assert check_guard(text, ENV) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", INT),
        ("1u", UINT),
        ("1.5", DOUBLE),
        (".5e1", DOUBLE),
        ("'s'", STRING),
        ("b's'", BYTES),
        ("now - proposal.end_date", DURATION),
        ("now - duration('1h')", TIMESTAMP),
        ("actor.roles", ListType(STRING)),
        ("actor.roles.map(r, r.size())", ListType(INT)),
        ("actor.roles.filter(r, true)", ListType(STRING)),
        ("{'a': 1}", MapType(STRING, INT)),
        ("[1, 'a']", ListType(DYN)),
        ("[]", ListType(DYN)),
        ("dyn(1) + 1", INT),
        ("true ? 1 : null", INT),
        ("pathway.limits.max_value", INT),
        ("has(proposal.id)", BOOL),
        ("proposal.vaule", None),
    ],
)
def test_result_types(text: str, expected: object) -> None:
    assert check(text, ENV)[0] == expected


# ------------------------------------------------------------------------------ located problems

PROBLEMS = [
    # (text, line, col, message fragment)
    ("proposal.vaule > 1", 1, 10, "proposal has no field 'vaule' (did you mean 'value'?)"),
    ("propsal.value > 1", 1, 1, "unknown variable 'propsal' (did you mean 'proposal'?); "
                                "guards can use: actor, input, now, pathway, proposal"),
    ("proposal.value + 1 > 5", 1, 16, "'+' mixes double and int; CEL does not convert between them"),
    ("proposal.value + 1 > 5", 1, 16, "write 2.0 instead of 2"),
    ("proposal.vendor == 3", 1, 17, "'==' compares string with int; this is always false"),
    ("proposal.vendor != 3", 1, 17, "this is always true"),
    ("pathway.limits.max_valu > 1", 1, 16, "pathway.limits has no field 'max_valu' (did you mean 'max_value'?)"),
    ("input.zzz == ''", 1, 7, "input has no field 'zzz'; its fields are: rationale"),
    ("has(proposal.vendr)", 1, 14, "did you mean 'vendor'?"),
    ("sise(input.rationale) > 1", 1, 1, "unknown function 'sise' (did you mean 'size'?)"),
    ("input.rationale.startswith('a')", 1, 17, "did you mean 'startsWith'?"),
    ("proposal.value", 1, 1, "guard must be true or false, this expression gives double"),
    ("actor.roles", 1, 1, "guard must be true or false, this expression gives list(string)"),
    ("proposal.state < 3", 1, 16, "'<' compares string with int"),
    ("actor.roles < actor.roles", 1, 13, "cannot order list(string) values"),
    ("1u + 1 > 0u", 1, 4, "'+' mixes uint and int"),
    ("proposal.value % 2.0 == 0.0", 1, 16, "'%' works only on int and uint"),
    ("now + 1 > now", 1, 5, "'+' cannot combine timestamp and int"),
    ("'a' + 1 == 'a1'", 1, 5, "'+' cannot combine string and int"),
    ("true + true", 1, 6, "'+' cannot be applied to bool values"),
    ("-'a' == 'a'", 1, 1, "'-' cannot negate string"),
    ("-1u == 1u", 1, 1, "'-' cannot negate uint"),
    ("!proposal.value", 1, 1, "the operand of '!' must be true or false, but it gives double"),
    ("proposal.value && true", 1, 16, "the left side of '&&' must be true or false"),
    ("true || 'x'", 1, 6, "the right side of '||' must be true or false"),
    ("proposal.value ? true : false", 1, 16, "the condition before '?' must be true or false"),
    ("true ? 1 : 'a'", 1, 10, "the branches of '? :' give int and string"),
    ("'x' in proposal.vendor", 1, 5, "'in' needs a list or map on its right side, not string; to search text use"),
    ("1 in actor.roles", 1, 3, "'in' looks for int in list(string)"),
    ("actor.roles['a'] == 'b'", 1, 12, "a list index must be an int, not string"),
    ("{'a': 1}[1] == 1", 1, 9, "this map has string keys, so it cannot be indexed with int"),
    ("proposal['id'] == 'x'", 1, 9, "cannot index into proposal with [...]; use proposal.field"),
    ("proposal.value.x == 1", 1, 16, "cannot select field 'x' from double"),
    ("{1.5: 1}[1.5] == 1", 1, 2, "map keys must be int, uint, string or bool, not double"),
    ("proposal.size() > 0", 1, 10, "size() cannot be applied to proposal"),
    ("size(1, 2) > 0", 1, 1, "size() takes 1 argument, but 2 were given"),
    ("input.rationale.size(1) > 0", 1, 17, "takes no arguments, but 1 was given"),
    ("input.rationale.contains(1)", 1, 17, "contains() expects (string) but was given (int)"),
    ("input.rationale.startsWith()", 1, 17, "startsWith() takes 1 argument, but 0 were given"),
    ("proposal.value.contains('a')", 1, 16, "contains() is not available on double; it works on string"),
    ("contains(input.rationale, 'a')", 1, 1, "contains() must be called on a value"),
    ("input.rationale.int() > 0", 1, 17, "int() is a function, not a method"),
    ("int(now, 1) > 0", 1, 1, "int() takes 1 argument, but 2 were given"),
    ("bytes(1) == b''", 1, 1, "bytes() cannot convert int"),
    ("now.getHours(1) > 0", 1, 5, "getHours() takes 0 arguments, but 1 was given"),
    # Not implemented by the run-time evaluator, so refused at load time:
    ("input.rationale.lowerAscii() != ''", 1, 17, "unknown function 'lowerAscii'"),
    ("bool('true')", 1, 1, "unknown function 'bool'"),
    ("input.rationale.getHours() > 0", 1, 17, "getHours() is not available on string; it works on duration and"),
    ("now > timestamp('2025-13-01T00:00:00Z')", 1, 17, "is not an RFC 3339 timestamp"),
    ("now - proposal.end_date > duration('1d')", 1, 36, "'1d' is not a valid duration"),
    ("actor.roles.all(r, r)", 1, 20, "the condition of all() must be true or false, but it gives string"),
    ("proposal.value.exists(x, true)", 1, 16, "exists() works on lists and maps, not double"),
    ("actor.roles.all(r)", 1, 13, "all() is not used correctly; write it as list.all(x, condition)"),
    ("has(proposal.id, 1)", 1, 1, "has() is not used correctly; write it as has(x.field)"),
    ("actor.roles.exists(r, r == 1)", 1, 25, "'==' compares string with int"),
    ("actor.roles.exists(role, rol == 'a')", 1, 26, "unknown variable 'rol' (did you mean 'role'?)"),
    ("proposal{id: 'x'}", 1, 1, "message construction (proposal{...}) is not supported in guards"),
    ("size(zork) > 0", 1, 6, "unknown variable 'zork'; guards can use:"),
]


@pytest.mark.parametrize(("text", "line", "col", "fragment"), PROBLEMS)
def test_problems_are_located_and_explained(text: str, line: int, col: int, fragment: str) -> None:
    found = check_guard(text, ENV)
    assert any((p.line, p.col) == (line, col) and fragment in p.message for p in found), found


SYNTAX_PROBLEMS = [
    ("1 +", 1, 4, "expected a value"),
    ("(1 + 2", 1, 7, "expected ')' to close the '('"),
    ("[1, 2", 1, 6, "close the list with ']'"),
    ("f(1,)", 1, 5, "remove the trailing ','"),
    ("a = 1", 1, 3, "use '==' to compare"),
    ("a & b", 1, 3, "use '&&'"),
    ("a | b", 1, 3, "use '||'"),
    ("a @ b", 1, 3, "unexpected character '@'"),
    ("a b", 1, 3, "unexpected name 'b' after a complete expression"),
    ("if > 1", 1, 1, "'if' is a reserved word"),
    ("x.?y", 1, 3, "optional selection '.?' is not supported"),
    ("'abc", 1, 1, "this string is never closed"),
    ("'ab\nc'", 1, 1, "not closed before the end of the line"),
    ("'\\z'", 1, 2, "unknown escape '\\z'"),
    ("b'\\u0041'", 1, 3, "not allowed in bytes literals"),
    ("'\\ud800'", 1, 2, "is not a Unicode character"),
    ("9223372036854775808 > 1", 1, 1, "does not fit in a 64-bit int"),
    ("18446744073709551616u > 1u", 1, 1, "does not fit in a 64-bit uint"),
    ("1e400 > 1.0", 1, 1, "too large for a double"),
    ("a ? b ? c : d : e", 1, 7, "wrap a conditional inside the middle branch in parentheses"),
    ("!-a", 1, 2, "like !(-x)"),
    ("-!a", 1, 2, "like -(!x)"),
    ("has(a)", 1, 5, "has() needs a field selection"),
    ("l.all(x.y, true)", 1, 7, "all() needs a plain variable name first"),
    ("é", 1, 1, "CEL names may only use ASCII letters"),
    ("a &&\n  (b ||\n\t  ", 3, 4, "found the end of the expression"),
    ("proposal.value > 1 &&\n\t\tproposal.id = 'x'", 2, 15, "use '=='"),
]


@pytest.mark.parametrize(("text", "line", "col", "fragment"), SYNTAX_PROBLEMS)
def test_syntax_problems_stop_at_the_first_error(text: str, line: int, col: int, fragment: str) -> None:
    result, found = check(text, ENV)
    assert result is None
    assert len(found) == 1, found
    assert (found[0].line, found[0].col) == (line, col), found
    assert fragment in found[0].message


def test_all_type_problems_are_collected_in_text_order() -> None:
    text = "proposal.vaule > 1 &&\n  propsal.x == 1 ||\n\tproposal.vendor + 1 == 'x'"
    found = check_guard(text, ENV)
    assert [(p.line, p.col) for p in found] == [(1, 10), (2, 3), (3, 18)]
    assert all(isinstance(p, ExprProblem) and p.message for p in found)


def test_errors_do_not_cascade() -> None:
    # One bad field: the comparison and the && above it stay quiet instead of piling on.
    assert len(check_guard("proposal.vaule + 1 > 2 && true", ENV)) == 1
    assert len(check_guard("proposal.value + 1 > 5 && proposal.proprietary", ENV)) == 1


def test_dyn_silences_type_errors_but_not_unknown_functions() -> None:
    env = {"x": DYN, "m": MapType(STRING, DYN)}
    for text in ("x.anything.size() == 3", "x + 1 > 2", "m.a.b < 'c'", "x ? true : x", "x[0] == m['k']", "x"):
        assert check_guard(text, env) == [], text
    assert "unknown function 'sizee'" in check_guard("x.sizee() == 1", env)[0].message


def test_macro_variables_are_scoped_to_the_macro() -> None:
    assert check_guard("actor.roles.exists(r, r == 'a') && r == 'b'", ENV)[0].message.startswith(
        "unknown variable 'r'"
    )
    # A macro variable may shadow an environment name inside the macro only.
    assert check_guard("actor.roles.exists(now, now == 'a') && now > timestamp('2025-01-01T00:00:00Z')", ENV) == []


def test_map_macros_bind_the_key() -> None:
    env = {"m": MapType(STRING, INT)}
    assert check_guard("m.all(k, k.startsWith('a')) && m.exists(k, m[k] > 1)", env) == []
    assert check("m.map(k, m[k])", env)[0] == ListType(INT)


def test_object_type_is_hashable_and_accepts_any_mapping() -> None:
    a = ObjectType("o", {"x": INT})
    b = ObjectType("o", (("x", INT),))
    assert a == b and hash(a) == hash(b)
    assert a.field("x") == INT and a.field("y") is None
    assert str(ListType(MapType(STRING, a))) == "list(map(string, o))"


# -------------------------------------------------------------------------------------- the parser


def test_precedence_and_associativity() -> None:
    node = parse("a || b && c == d + e * -f")
    assert isinstance(node, Binary) and node.op == "||"
    conj = node.right
    assert isinstance(conj, Binary) and conj.op == "&&"
    eq = conj.right
    assert isinstance(eq, Binary) and eq.op == "=="
    add = eq.right
    assert isinstance(add, Binary) and add.op == "+"
    mul = add.right
    assert isinstance(mul, Binary) and mul.op == "*" and isinstance(mul.right, Unary)
    left = parse("a - b - c")
    assert isinstance(left, Binary) and isinstance(left.left, Binary) and left.left.op == "-"
    cond = parse("a ? b : c ? d : e")
    assert isinstance(cond, Conditional) and isinstance(cond.otherwise, Conditional)


def test_member_chains_calls_and_indexes() -> None:
    node = parse("a.b(c)[0].d")
    assert isinstance(node, Select) and node.field == "d"
    index = node.operand
    assert isinstance(index, Index)
    call = index.operand
    assert isinstance(call, Call) and call.function == "b" and isinstance(call.target, Ident)
    assert parse(".x") == Ident(1, "x", root=True)
    glob = parse("f(1, 2)")
    assert isinstance(glob, Call) and glob.target is None and len(glob.args) == 2


def test_literals() -> None:
    assert parse("-9223372036854775808") == Literal(0, -(2**63), INT)
    assert parse("0xFFu") == Literal(0, 255, UINT)
    assert parse("1e3").value == 1000.0
    assert parse(".5").value == 0.5
    assert parse("'\\x41\\101\\u00e9\\U0001F600\\n'").value == "AA\u00e9\U0001f600\n"
    assert parse("b'\\xff\\377é'").value == b"\xff\xff\xc3\xa9"
    assert parse("r'\\d+'").value == "\\d+"
    assert parse("'''a\n'b'\n'''").value == "a\n'b'\n"
    assert parse('"""x"""').value == "x"
    assert parse("null") == Literal(0, None, parse("null").type)
    assert isinstance(parse("[1, 2,]"), ListLit) and len(parse("[1, 2,]").items) == 2
    assert isinstance(parse("{'a': 1,}"), MapLit)
    assert parse("[,]") == ListLit(0, ())  # the CEL grammar allows a lone trailing comma


def test_macros_are_expanded_and_other_calls_are_not() -> None:
    has = parse("has(a.b)")
    assert isinstance(has, Has) and has.select.field == "b"
    comp = parse("l.map(x, x > 1, x * 2)")
    assert isinstance(comp, Comprehension) and comp.macro == "map" and comp.var == "x" and len(comp.args) == 2
    assert isinstance(parse("l.all(x)"), Call)  # wrong arity: an ordinary (unknown) call, as in CEL
    assert isinstance(parse("all(x, y)"), Call)


def test_message_construction_parses() -> None:
    node = parse("google.type.Money{units: 1, nanos: 2,}")
    assert isinstance(node, MessageLit) and node.type_name == "google.type.Money"
    assert [name for name, _ in node.fields] == ["units", "nanos"]


def test_reserved_words_are_fine_as_field_names() -> None:
    assert syntax_ok("a.if && a.let.b")
    assert not syntax_ok("let")
    assert not syntax_ok("a.in")


def test_deep_nesting_is_reported_not_crashed() -> None:
    for text in ("(" * 500 + "1" + ")" * 500, "[" * 300 + "]" * 300, "f(" * 200 + ")" * 200):
        result, found = check(text, ENV)
        assert result is None and found and "nests more than" in found[0].message
    for text in ("1" + " + 1" * 5000, "!" * 5000 + "true", "a" + ".b" * 5000):
        result, found = check(text, ENV)  # may or may not be checkable, but must not raise
        assert isinstance(found, list)


# ------------------------------------------------------------------- agreement with the real CEL

DIFFERENTIAL = [
    # accepted by CEL
    "1 + 2", "a.b.c", ".a.b", "a.b(c)", "f()", "a[0][1]", "[1, 2,]", "{1: 2,}", "[,]", "{,}", "A{a: 1,}",
    "a.b.c{x: 1}.y", "'''multi\nline'''", "r'\\d'", "b'\\xff'", "br'x'", "B'x'", "'\\X41'", "'\\377'",
    "1u", "0xffu", "01", ".5", "1e3", "1.e3", "1.5.size()", "!-1", "- -a", "--1", "- 9223372036854775808",
    "-9223372036854775808", "1 < 2 < 3", "a ? b : c ? d : e", "(a ? b : c) ? d : e", "a.if", "a.let()",
    "has(a.b.c)", "has(a.b, c)", "a.all(x)", "a.map(x, y, z)", "a.all(x, y, z)", "// c\n1", "1 // c",
    "a\t+\fb", "{'a': 1}.a", "A.let{}", "let{}", "a.all(.x, true)",
    # rejected by CEL
    "1 +", "", "   ", "a.b(", "x.?y", "[?a]", "{?a: b}", "A{?a: 1}", "if", "let.a", "f(let)", "a.in",
    "a.true", "a.null()", "1.", "1e", "0x", "0X1F", "rb'x'", "'\\z'", "'\\0'", "'\\400'", "'\\x4'", "'\\u00'",
    "'\\ud800'", "'\\U00110000'", "b'\\u0041'", "'a\nb'", "r'\\''", "'''abc", "a.`b-c`", "a[1:2]", "f(1,)",
    "f(,)", "has(a)", "has(a[0])", "has(a.b())", "a.all(1, true)", "a.map(x.y, z)", "a ? b ? c : d : e",
    "a ? b : c : d", "9223372036854775808", "--9223372036854775808", "-(9223372036854775808)",
    "-9223372036854775809", "0x8000000000000000", "18446744073709551616u", "1e400", "1.0u", "a.b(){}",
    "(a.b){}", "true()", "f(a)(b)", "1 + + 1", "!-a", "-!a", "1 = 1", "a & b", "/* c */ 1", "é", "a b",
    "1..size()", "x.1", "{:}", "{1}", "a[]", "A{'a': 1}",
]


def test_syntax_agrees_with_the_real_cel() -> None:
    import cel  # a hard dependency (common-expression-language): missing is a failure, not a skip

    disagreements = []
    for text in DIFFERENTIAL:
        try:
            cel.compile(text)
            theirs = True
        except ValueError:
            theirs = False
        if syntax_ok(text) != theirs:
            disagreements.append((text, "cel accepts" if theirs else "cel rejects"))
    assert disagreements == []


# ------------------------------------------------------------------------------- property tests

CEL_CHARS = list("abxyz_019.()[]{}!-+*/%<>=&|?:,'\"\\ \n\tubrBRe") + ["true", "null", "in", "has(", "'''", "//"]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=60), st.lists(st.sampled_from(CEL_CHARS), max_size=40).map("".join)))
def test_random_text_never_raises(text: str) -> None:
    result, found = check(text, ENV)
    assert isinstance(found, list) and all(isinstance(p, ExprProblem) for p in found)
    for p in found:
        assert p.line >= 1 and p.col >= 1 and p.message
    assert isinstance(check_guard(text, ENV), list)


_RESERVED = {"as", "break", "const", "continue", "else", "for", "function", "if", "import", "let", "loop",
             "package", "namespace", "return", "var", "void", "while", "in", "true", "false", "null", "has"}
names = st.from_regex(r"[a-z_][a-z0-9_]{0,4}", fullmatch=True).filter(lambda s: s not in _RESERVED)
atoms = st.one_of(
    names,
    names.map(lambda n: "." + n),
    st.integers(0, 2**63 - 1).map(str),
    st.integers(0, 2**63).map(lambda i: f"-{i}"),
    st.integers(0, 2**64 - 1).map(lambda i: f"{i}u"),
    st.integers(0, 2**40).map(hex),
    st.floats(0, 1e300, allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["true", "false", "null", "'a'", '"b\\n"', "'''x\ny'''", "r'\\d'", "b'\\x00'", "'\\u00e9'",
                     '""', "[]", "{}"]),
)


def _compose(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pair = st.tuples(children, children)
    return st.one_of(
        st.tuples(children, st.sampled_from(["||", "&&", "<", "<=", ">", ">=", "==", "!=", "in", "+", "-", "*",
                                             "/", "%"]), children).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(children, children, children).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
        children.map(lambda c: f"!({c})"),
        children.map(lambda c: f"-({c})"),
        st.tuples(children, names).map(lambda t: f"({t[0]}).{t[1]}"),
        pair.map(lambda t: f"({t[0]})[{t[1]}]"),
        st.tuples(children, names, st.lists(children, max_size=2)).map(
            lambda t: f"({t[0]}).{t[1]}({', '.join(t[2])})"),
        st.tuples(names, st.lists(children, max_size=3)).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
        st.lists(children, max_size=3).map(lambda items: f"[{', '.join(items)}]"),
        st.lists(pair, max_size=3).map(lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}"),
        st.tuples(children, st.sampled_from(["all", "exists", "exists_one", "filter", "map"]), names, children).map(
            lambda t: f"({t[0]}).{t[1]}({t[2]}, {t[3]})"),
        st.tuples(children, names).map(lambda t: f"has(({t[0]}).{t[1]})"),
    )


expressions = st.recursive(atoms, _compose, max_leaves=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions)
def test_generated_expressions_parse_here_and_in_real_cel(text: str) -> None:
    import cel

    _, found = check(text, ENV)
    assert syntax_ok(text), found
    cel.compile(text)  # raises ValueError if the real parser disagrees
