"""The CEL tokenizer: expression text to tokens, following cel-spec ``langdef.md``.

Also holds :class:`_Fail`, the internal syntax error both the tokenizer and the
parser raise at a text offset, and :func:`_locate`, which turns such an offset
into the 1-based line and column of an :class:`ExprProblem`.
"""

from __future__ import annotations

import re

from .types import ExprProblem


class _Fail(Exception):
    """Internal: a syntax error at a text offset, converted to ParseError at the top."""

    def __init__(self, pos: int, message: str) -> None:
        super().__init__(message)
        self.pos, self.message = pos, message


def _locate(text: str, pos: int, message: str) -> ExprProblem:
    line_start = text.rfind("\n", 0, pos) + 1
    return ExprProblem(text.count("\n", 0, pos) + 1, pos - line_start + 1, message)


_RESERVED = frozenset(
    "as break const continue else for function if import let loop package "
    "namespace return var void while".split()
)
_KEYWORDS = frozenset({"true", "false", "null", "in"})
_IDENT_RE = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_NUMBER_RE = re.compile(
    r"0x[0-9a-fA-F]+[uU]?"
    r"|[0-9]+\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+|\.[0-9]+(?:[eE][+-]?[0-9]+)?"
    r"|[0-9]+[uU]?"
)
_PUNCT2 = frozenset({"==", "!=", "<=", ">=", "&&", "||"})
_PUNCT1 = frozenset("<>!+-*/%?:.,()[]{}")
_MISTYPED = {
    "=": "'=' is not an operator in CEL; use '==' to compare values",
    "&": "'&' is not an operator in CEL; use '&&' for 'and'",
    "|": "'|' is not an operator in CEL; use '||' for 'or'",
}
_SIMPLE_ESCAPES = {
    "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
    '"': '"', "'": "'", "\\": "\\", "?": "?", "`": "`",
}
_DIGITS = frozenset("0123456789")
_HEX = _DIGITS | frozenset("abcdefABCDEF")


class _Tok:
    __slots__ = ("kind", "text", "value", "pos")

    def __init__(self, kind: str, text: str, pos: int, value: object = None) -> None:
        self.kind, self.text, self.pos, self.value = kind, text, pos, value


def _tokenize(text: str) -> list[_Tok]:
    """Split text into tokens. A lexical error becomes a final 'error' token so the
    parser reports whichever problem comes first in the text."""
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while True:
        while i < n:
            if text[i] in " \t\r\n\f":
                i += 1
            elif text.startswith("//", i):
                j = text.find("\n", i)
                i = n if j < 0 else j
            else:
                break
        if i >= n:
            toks.append(_Tok("eof", "", n))
            return toks
        try:
            tok, i = _lex_one(text, i)
        except _Fail as e:
            toks.append(_Tok("error", e.message, e.pos))
            return toks
        toks.append(tok)


def _lex_one(text: str, i: int) -> tuple[_Tok, int]:
    c = text[i]
    if c in _DIGITS or (c == "." and text[i + 1 : i + 2] in _DIGITS):
        m = _NUMBER_RE.match(text, i)
        assert m is not None
        word = m.group()
        if word.startswith("0x"):
            kind = "uint" if word[-1] in "uU" else "int"
            value: object = int(word[2:].rstrip("uU"), 16)
        elif any(ch in word for ch in ".eE"):
            kind, value = "double", float(word)
        else:
            kind = "uint" if word[-1] in "uU" else "int"
            value = int(word.rstrip("uU"), 10)
        return _Tok(kind, word, i, value), m.end()
    m = _IDENT_RE.match(text, i)
    if m:
        word, end = m.group(), m.end()
        if end < len(text) and text[end] in "'\"" and word.lower() in ("r", "b", "br"):
            return _lex_string(text, i, end, raw="r" in word.lower(), is_bytes="b" in word.lower())
        return _Tok(word if word in _KEYWORDS else "ident", word, i), end
    if c in "'\"":
        return _lex_string(text, i, i, raw=False, is_bytes=False)
    if text[i : i + 2] in _PUNCT2:
        return _Tok(text[i : i + 2], text[i : i + 2], i), i + 2
    if c in _PUNCT1:
        return _Tok(c, c, i), i + 1
    if c in _MISTYPED:
        raise _Fail(i, _MISTYPED[c])
    if c.isalpha():
        raise _Fail(i, f"unexpected character {c!r}; CEL names may only use ASCII letters, digits and '_'")
    raise _Fail(i, f"unexpected character {c!r}; remove it")


def _lex_string(text: str, start: int, q: int, raw: bool, is_bytes: bool) -> tuple[_Tok, int]:
    """Read a (raw/bytes/triple-quoted) string literal whose quote is at ``q``."""
    quote = text[q]
    delim = quote * 3 if text.startswith(quote * 3, q) else quote
    out = bytearray()
    i, n = q + len(delim), len(text)
    while True:
        if i >= n:
            raise _Fail(start, f"this string is never closed; add the closing {delim}")
        if text.startswith(delim, i):
            i += len(delim)
            break
        c = text[i]
        if len(delim) == 1 and c in "\r\n":
            raise _Fail(start, "this string is not closed before the end of the line; close it, "
                        "or use triple quotes (''' or \"\"\") for text over several lines")
        if c == "\\" and not raw:
            i = _lex_escape(text, i, is_bytes, out)
        else:
            out += c.encode("utf-8", "surrogatepass")
            i += 1
    kind = "bytes" if is_bytes else "string"
    value = bytes(out) if is_bytes else out.decode("utf-8", "surrogatepass")
    return _Tok(kind, text[start:i], start, value), i


def _lex_escape(text: str, i: int, is_bytes: bool, out: bytearray) -> int:
    """Decode the escape sequence at ``text[i] == '\\\\'`` into ``out``; return the next offset."""
    c = text[i + 1 : i + 2]
    if c and c in _SIMPLE_ESCAPES:
        out += _SIMPLE_ESCAPES[c].encode()
        return i + 2
    width = {"x": 2, "X": 2, "u": 4, "U": 8}.get(c)
    if width:
        digits = text[i + 2 : i + 2 + width]
        if len(digits) == width and all(d in _HEX for d in digits):
            code = int(digits, 16)
            if width == 2:
                out += bytes([code]) if is_bytes else chr(code).encode()
                return i + 2 + width
            if is_bytes:
                raise _Fail(i, f"'\\{c}' escapes are not allowed in bytes literals; write bytes as '\\xHH'")
            if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
                raise _Fail(i, f"'\\{c}{digits}' is not a Unicode character; surrogates and values over 10FFFF are not")
            out += chr(code).encode()
            return i + 2 + width
        raise _Fail(i, f"'\\{c}' must be followed by {width} hex digits")
    octal = text[i + 1 : i + 4]
    if len(octal) == 3 and octal[0] in "0123" and all(d in "01234567" for d in octal[1:]):
        code = int(octal, 8)
        out += bytes([code]) if is_bytes else chr(code).encode()
        return i + 4
    shown = c if c and c not in "\r\n" else ""
    raise _Fail(i, f"unknown escape '\\{shown}' in string; write '\\\\' for a backslash, or use a raw string r'...'")
