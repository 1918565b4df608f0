"""A small, safe subset of Perspective's expression language for the view harness.

Every ``{scope.path}`` reference of an expression is resolved by the caller's ``resolve``
(a missing path fails), and the expression is evaluated from a tokenizer and a
recursive-descent parser: literals (strings, numbers, true/false/null), references, ``+ - * /``,
comparisons, ``&& || !``, parentheses and the functions in FUNCTIONS. Anything else fails with
Unsupported, so an expression the harness cannot read is never passed over silently. Nothing is
handed to ``eval``. Python 2.7/3 code: it runs under pytest and Jython.
"""
from __future__ import absolute_import, division, print_function

import re
import time

TOKEN = re.compile(r"""\s*(?:
    (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<ref>\{[^{}]+\})
  | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<op>\|\||&&|==|!=|>=|<=|[-+*/()<>!,])
)""", re.VERBOSE)


class Unsupported(Exception):
    """An expression outside the subset the harness evaluates."""


def references(expression):
    """Every ``{...}`` reference of an expression, in order, without the braces."""
    return [ref[1:-1].strip() for ref in re.findall(r"\{[^{}]+\}", expression)]


def _toStr(value, *default):
    if value is None:
        return default[0] if default else ""
    if value is True or value is False:
        return "true" if value else "false"
    return value if isinstance(value, type(u"")) or isinstance(value, str) else str(value)


def _len(value):
    return 0 if value is None else len(value)


def _if(condition, whenTrue, whenFalse):
    return whenTrue if condition else whenFalse


def _coalesce(*values):
    for value in values:
        if value is not None:
            return value
    return None


FUNCTIONS = {
    "now": lambda *pollMs: int(time.time() * 1000),
    "toStr": _toStr,
    "toString": _toStr,
    "len": _len,
    "if": _if,
    "isNull": lambda value: value is None,
    "coalesce": _coalesce,
    "toInt": lambda value, *default: int(value) if value is not None else default[0],
}


def _tokens(expression):
    found, at = [], 0
    expression = expression.rstrip()
    while at < len(expression):
        match = TOKEN.match(expression, at)
        if not match or match.end() == at:
            raise Unsupported("cannot read %r at %r" % (expression, expression[at:]))
        kind = match.lastgroup
        found.append((kind, match.group(kind)))
        at = match.end()
    return found


def _add(left, right):
    if isinstance(left, (str, type(u""))) or isinstance(right, (str, type(u""))):
        return _toStr(left, "null") + _toStr(right, "null")
    return left + right


BINARY = [
    ("||", lambda a, b: bool(a) or bool(b)), ("&&", lambda a, b: bool(a) and bool(b)),
    ("==", lambda a, b: a == b), ("!=", lambda a, b: a != b),
    (">=", lambda a, b: a >= b), ("<=", lambda a, b: a <= b),
    (">", lambda a, b: a > b), ("<", lambda a, b: a < b),
    ("+", _add), ("-", lambda a, b: a - b), ("*", lambda a, b: a * b), ("/", lambda a, b: a / b),
]
LEVELS = [["||"], ["&&"], ["==", "!="], [">=", "<=", ">", "<"], ["+", "-"], ["*", "/"]]


class _Parser(object):
    def __init__(self, expression, resolve):
        self.expression = expression
        self.tokens = _tokens(expression)
        self.at = 0
        self.resolve = resolve

    def peek(self):
        return self.tokens[self.at] if self.at < len(self.tokens) else (None, None)

    def take(self, value=None):
        token = self.peek()
        if token[0] is None or (value is not None and token[1] != value):
            raise Unsupported("%r: expected %r at token %d" % (self.expression, value, self.at))
        self.at += 1
        return token

    def whole(self):
        value = self.level(0)
        if self.at != len(self.tokens):
            raise Unsupported("%r: unexpected %r" % (self.expression, self.peek()[1]))
        return value

    def level(self, depth):
        if depth == len(LEVELS):
            return self.unary()
        value = self.level(depth + 1)
        while self.peek()[0] == "op" and self.peek()[1] in LEVELS[depth]:
            operator = self.take()[1]
            value = dict(BINARY)[operator](value, self.level(depth + 1))
        return value

    def unary(self):
        if self.peek() == ("op", "!"):
            self.take()
            return not self.unary()
        if self.peek() == ("op", "-"):
            self.take()
            return -self.unary()
        return self.primary()

    def primary(self):
        kind, text = self.take()
        if kind == "string":
            return text[1:-1]
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind == "ref":
            return self.resolve(text[1:-1].strip())
        if (kind, text) == ("op", "("):
            value = self.level(0)
            self.take(")")
            return value
        if kind == "name":
            return self.name(text)
        raise Unsupported("%r: unexpected %r" % (self.expression, text))

    def name(self, text):
        literals = {"true": True, "false": False, "null": None}
        if text in literals:
            return literals[text]
        if text not in FUNCTIONS:
            raise Unsupported("%r: the harness does not evaluate the function %s()"
                              % (self.expression, text))
        self.take("(")
        arguments = []
        while self.peek() != ("op", ")"):
            arguments.append(self.level(0))
            if self.peek() == ("op", ","):
                self.take()
        self.take(")")
        return FUNCTIONS[text](*arguments)


def evaluate(expression, resolve):
    """The value of an expression; ``resolve(path)`` reads a reference (and may raise)."""
    for path in references(expression):
        resolve(path)  # every reference resolves, even one a short-circuit would skip
    return _Parser(expression, resolve).whole()
