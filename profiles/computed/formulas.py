"""Formulas over other traits: a small expression language, parsed by the recursive-descent
parser below (never eval) into a tree of tuples that ``evaluate`` walks.

    formula  := sum
    sum      := product (("+" | "-") product)*
    product  := unary (("*" | "/") unary)*
    unary    := "-" unary | atom
    atom     := NUMBER | call | reference | "(" sum ")"
    call     := ("min" | "max" | "round") "(" sum ("," sum)* ")"
    reference:= NAME | `any key`        NAME: letters, digits and _, not starting with a digit

A reference names a computed trait by its key (or, where none has that key, a trait).
An empty or non-numeric value makes the result empty (null), as does a division by zero
or a result no JSON number holds; ``min`` and ``max`` skip empty values, as SQL's
least/greatest do, and ``round(x)`` / ``round(x, digits)`` rounds half away from zero.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

MAX_LENGTH = 500
MAX_DEPTH = 30  # nesting; a deeper formula is refused rather than exhausting the stack
MAX_DIGITS = 10
FUNCTIONS = {"min": (1, 20), "max": (1, 20), "round": (1, 2)}  # name: (least, most) args

TOKEN = re.compile(
    r"""(?:
        (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | `(?P<quoted>[^`\x00-\x1f]{1,120})`
      | (?P<op>[-+*/(),])
    )""",
    re.VERBOSE,
)


class FormulaError(ValueError):
    """A formula that cannot be parsed; the message says where and why."""


def _tokens(text: str) -> list[tuple[str, object]]:
    if not text or not text.strip():
        raise FormulaError("Enter a formula, e.g. order_revenue / order_count.")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"A formula is at most {MAX_LENGTH} characters.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise FormulaError("The formula holds a character that is not text.") from None
    found, at = [], 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        match = TOKEN.match(text, at)
        if match is None:
            raise FormulaError(f"Unexpected {text[at]!r} at character {at + 1}.")
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "number":
            number = float(value)
            if not math.isfinite(number):
                raise FormulaError(f"The number {value[:20]}… is too large.")
            found.append(("number", number))
        elif kind in ("name", "quoted"):
            found.append(("name", value))
        else:
            found.append(("op", value))
        at = match.end()
    return found


class _Parser:
    def __init__(self, tokens):
        self.tokens, self.at, self.depth = tokens, 0, 0

    def peek(self):
        return self.tokens[self.at] if self.at < len(self.tokens) else (None, None)

    def take(self, op: str) -> bool:
        if self.peek() == ("op", op):
            self.at += 1
            return True
        return False

    def expect(self, op: str, where: str) -> None:
        if not self.take(op):
            kind, value = self.peek()
            seen = "the end" if kind is None else repr(value)
            raise FormulaError(f"Expected {op!r} {where}, found {seen}.")

    def parse(self):
        tree = self.sum()
        if self.at < len(self.tokens):
            raise FormulaError(f"Unexpected {self.tokens[self.at][1]!r} after the formula.")
        return tree

    def sum(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FormulaError(f"A formula nests at most {MAX_DEPTH} deep.")
        tree = self.product()
        while (op := self.peek()) in (("op", "+"), ("op", "-")):
            self.at += 1
            tree = (op[1], tree, self.product())
        self.depth -= 1
        return tree

    def product(self):
        tree = self.unary()
        while (op := self.peek()) in (("op", "*"), ("op", "/")):
            self.at += 1
            tree = (op[1], tree, self.unary())
        return tree

    def unary(self):
        if self.take("-"):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise FormulaError(f"A formula nests at most {MAX_DEPTH} deep.")
            tree = ("neg", self.unary())
            self.depth -= 1
            return tree
        return self.atom()

    def atom(self):
        kind, value = self.peek()
        if kind == "number":
            self.at += 1
            return ("num", value)
        if kind == "name":
            self.at += 1
            if self.peek() == ("op", "("):
                return self.call(value)
            return ("ref", value)
        if self.take("("):
            tree = self.sum()
            self.expect(")", "to close the bracket")
            return tree
        seen = "the end" if kind is None else repr(value)
        raise FormulaError(f"Expected a number, a trait or a bracket, found {seen}.")

    def call(self, name: str):
        if name not in FUNCTIONS:
            known = ", ".join(FUNCTIONS)
            raise FormulaError(f"Unknown function {name!r}: the functions are {known}.")
        self.expect("(", f"after {name}")
        args = [self.sum()]
        while self.take(","):
            args.append(self.sum())
        self.expect(")", f"to close {name}(")
        least, most = FUNCTIONS[name]
        if not least <= len(args) <= most:
            raise FormulaError(f"{name} takes {least} to {most} values, not {len(args)}.")
        return ("call", name, tuple(args))


def parse(text: str):
    """The formula's tree; FormulaError with a message a marketer can act on."""
    return _Parser(_tokens(text)).parse()


def references(tree) -> set[str]:
    """The keys a formula's tree refers to."""
    kind = tree[0]
    if kind == "ref":
        return {tree[1]}
    if kind == "num":
        return set()
    if kind == "neg":
        return references(tree[1])
    if kind == "call":
        return set().union(*(references(arg) for arg in tree[2]))
    return references(tree[1]) | references(tree[2])


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _call(name: str, args: list) -> float | None:
    if name in ("min", "max"):
        present = [a for a in args if a is not None]
        return (min if name == "min" else max)(present) if present else None
    value = args[0]
    digits = 0 if len(args) == 1 else args[1]
    if value is None or digits is None:
        return None
    if digits != int(digits) or not 0 <= digits <= MAX_DIGITS:
        return None  # round(x, 2.5) or round(x, 400): nothing sensible to give
    try:
        rounded = Decimal(repr(value)).quantize(Decimal(1).scaleb(-int(digits)), ROUND_HALF_UP)
    except InvalidOperation:  # more digits than a Decimal holds: already whole at this size
        return value
    return float(rounded)


def evaluate(tree, values: dict) -> float | int | None:
    """The formula's value over ``values`` (key -> value); None where it has none."""
    result = _evaluate(tree, values)
    if result is None or not math.isfinite(result):
        return None
    return int(result) if result.is_integer() and abs(result) < 2**53 else result


def _evaluate(tree, values):
    kind = tree[0]
    if kind == "num":
        return tree[1]
    if kind == "ref":
        return _number(values.get(tree[1]))
    if kind == "neg":
        inner = _evaluate(tree[1], values)
        return None if inner is None else -inner
    if kind == "call":
        return _call(tree[1], [_evaluate(arg, values) for arg in tree[2]])
    left, right = _evaluate(tree[1], values), _evaluate(tree[2], values)
    if left is None or right is None:
        return None
    if kind == "/":
        return None if right == 0 else left / right
    result = {"+": left + right, "-": left - right, "*": left * right}[kind]
    return result if math.isfinite(result) else None
