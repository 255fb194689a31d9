"""The run search language: a small parser from filter text to an expression tree.

Grammar (keywords are case-insensitive)::

    filter     := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" or_expr ")" | predicate
    predicate  := field ( op value
                        | ["not"] ("like" | "ilike") string
                        | ["not"] "in" "(" value ("," value)* ")"
                        | "is" ["not"] "null" )
    field      := scope "." key          scope: metrics, params, tags, attributes
    key        := name | `quoted` | "quoted"
    op         := "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">="
    value      := 'string' | "string" | number

The tree is compiled into parameterized queries by each store; nothing here builds SQL.
Every error is an :class:`~windlass.exceptions.InvalidFilter` naming the position, or a
:class:`~windlass.exceptions.LimitExceeded` naming the documented bound a filter or an
order-by goes over (:data:`MAX_FILTER_LENGTH`, :data:`MAX_DEPTH`, :data:`MAX_CONDITIONS`,
:data:`MAX_JOINS`, :data:`MAX_IN_VALUES`, :data:`MAX_ORDER_BY_KEYS`; docs/search.md lists
them), so no filter can reach the database as a query too big or too deep for it.

Other records are searched with the same grammar over their own fields by subclassing
:class:`Parser` and overriding its :meth:`~Parser.field` hook (and :meth:`~Parser.value`,
to read values differently); the helpers a hook needs (:attr:`~Parser.current`,
:meth:`~Parser.advance`, :meth:`~Parser.peek`, :meth:`~Parser.read_key`,
:meth:`~Parser.fail`, :meth:`~Parser.error`) are public too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from windlass.exceptions import InvalidFilter, LimitExceeded

Scope = Literal["metrics", "params", "tags", "attributes"]

_SCOPES: dict[str, Scope] = {
    "metrics": "metrics",
    "metric": "metrics",
    "params": "params",
    "param": "params",
    "tags": "tags",
    "tag": "tags",
    "attributes": "attributes",
    "attribute": "attributes",
    "attr": "attributes",
    "run": "attributes",
}

#: Run attributes a filter or order-by may name, with their type, and their aliases.
ATTRIBUTES: dict[str, Literal["text", "number"]] = {
    "id": "text",
    "name": "text",
    "status": "text",
    "user": "text",
    "start_time": "number",
    "end_time": "number",
    "parent_run_id": "text",
    "git_commit": "text",
    "host": "text",
}
_ATTRIBUTE_ALIASES = {"run_id": "id", "run_name": "name"}

Value = str | float

#: Longest filter (or order-by clause) text, in characters.
MAX_FILTER_LENGTH = 20_000
#: Deepest nesting of parentheses and ``not`` a filter may have.
MAX_DEPTH = 64
#: Most comparisons (``field op value``, ``in``, ``is null``...) in one filter.
MAX_CONDITIONS = 100
#: Most comparisons on a joined field (a metric, param or tag of a run; a span field or
#: span attribute of a trace): each is a sub-query of its own.
MAX_JOINS = 10
#: Most values in one ``in (...)`` list.
MAX_IN_VALUES = 1000
#: Most ``order_by`` clauses of one search.
MAX_ORDER_BY_KEYS = 5


@dataclass(frozen=True)
class Field:
    """A searchable field: ``metrics.loss``, ``params.depth``, ``attributes.status`` ..."""

    scope: Scope
    key: str
    position: int = 0

    @property
    def is_numeric(self) -> bool:
        """Tell whether the field holds numbers (metrics, numeric attributes)."""
        return self.scope == "metrics" or (
            self.scope == "attributes" and ATTRIBUTES[self.key] == "number"
        )

    @property
    def is_joined(self) -> bool:
        """Tell whether a condition on the field is a sub-query (counts to MAX_JOINS)."""
        return self.scope != "attributes"


@dataclass(frozen=True)
class Compare:
    """``field op value``; ``op`` is one of = != < <= > >= like ilike."""

    field: Field
    op: str
    value: Value
    negated: bool = False


@dataclass(frozen=True)
class In:
    """``field [not] in (v1, v2, ...)``."""

    field: Field
    values: tuple[Value, ...]
    negated: bool = False


@dataclass(frozen=True)
class IsNull:
    """``field is [not] null``: the run has (not) got this metric, param, tag or attribute."""

    field: Field
    negated: bool = False


@dataclass(frozen=True)
class And:
    """All parts hold."""

    parts: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    """At least one part holds."""

    parts: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    """The part does not hold."""

    part: Expr


Expr = Compare | In | IsNull | And | Or | Not


@dataclass(frozen=True)
class OrderKey:
    """One ``order_by`` clause: a field and a direction."""

    field: Field
    ascending: bool = True


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?))(?![A-Za-z_])
  | (?P<string>'(?:[^']|'')*')
  | (?P<dquoted>"(?:[^"]|"")*")
  | (?P<bquoted>`[^`]*`)
  | (?P<op><=|>=|!=|<>|==|=|<|>)
  | (?P<punct>[(),.])
  | (?P<name>[A-Za-z_][A-Za-z0-9_\-/:]*)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    """One token of filter text.

    ``kind`` is ``name``, ``number``, ``string`` ('single'), ``dquoted``, ``bquoted``,
    ``op``, ``punct`` (one of ``( ) , .``) or ``end``; ``position`` is its offset.
    """

    kind: str
    text: str
    position: int

    @property
    def word(self) -> str:
        """Return a name token's text in lower case (keywords); "" for other kinds."""
        return self.text.lower() if self.kind == "name" else ""


def _tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            if text[pos] in "'\"`":
                raise _error(text, pos, f"unterminated quote {text[pos]}")
            raise _error(text, pos, f"unexpected character {text[pos]!r}")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def _limit(text: str, position: int, problem: str, limit: int, name: str) -> LimitExceeded:
    return LimitExceeded(
        f"filter goes over a limit at position {position}: {problem} (limit {name} = "
        f"{limit}; see the Limits section of docs/search.md)",
        position=position,
        limit=limit,
        limit_name=name,
        filter=text[:200],
    )


def _error(text: str, position: int, problem: str) -> InvalidFilter:
    pointer = f"\n  {text}\n  {' ' * position}^"
    return InvalidFilter(
        f"invalid filter at position {position}: {problem}{pointer}",
        position=position,
        filter=text,
    )


def _unquote(token: Token) -> str:
    body = token.text[1:-1]
    quote = token.text[0]
    return body.replace(quote * 2, quote) if quote != "`" else body


class Parser:
    """A recursive-descent parser of one filter (or order-by clause) over run fields.

    Subclasses search other records with the same grammar: override :meth:`field` to
    read their fields (returning a :class:`Field` subclass whose ``is_numeric`` says how
    values are read), and :meth:`value` to read values differently.
    """

    def __init__(self, text: str) -> None:
        if len(text) > MAX_FILTER_LENGTH:
            raise _limit(
                text,
                MAX_FILTER_LENGTH,
                f"{len(text)} characters, more than {MAX_FILTER_LENGTH}",
                MAX_FILTER_LENGTH,
                "MAX_FILTER_LENGTH",
            )
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0
        self.conditions = 0
        self.joins = 0

    @property
    def current(self) -> Token:
        """Return the token at the parser's position (the ``end`` token once done)."""
        return self.tokens[self.index]

    def advance(self) -> Token:
        """Return the current token and move past it."""
        token = self.tokens[self.index]
        self.index += 1
        return token

    def peek(self, ahead: int = 1) -> Token:
        """Return the token ``ahead`` places after the current one (or the ``end`` token)."""
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def error(self, position: int, problem: str) -> InvalidFilter:
        """Return the error for ``problem`` at ``position``, quoting the text with a caret."""
        return _error(self.text, position, problem)

    def fail(self, expected: str, token: Token | None = None) -> InvalidFilter:
        """Return the error "expected ..., found <token>" (the current one by default)."""
        token = token or self.current
        found = "end of filter" if token.kind == "end" else repr(token.text)
        return _error(self.text, token.position, f"expected {expected}, found {found}")

    def read_key(self, scope: Token) -> tuple[str, int]:
        """Read ``.key`` after the scope word just consumed; return the key and its position.

        The key is a name, or `quoted` or "quoted"; unquoted keys may contain dots
        (``metrics.val.acc``). Messages name ``scope`` as written.
        """
        key_token = self.current
        if key_token.kind == "number" and key_token.text.startswith("."):
            # "metrics.0" arrives as "metrics" and the number ".0": the key is "0".
            self.advance()
            key_token = Token("name", key_token.text[1:], key_token.position + 1)
            self.tokens.insert(self.index, key_token)
        else:
            if key_token.kind != "punct" or key_token.text != ".":
                raise self.fail(f"'.' after '{scope.text}'")
            self.advance()
            key_token = self.current
        if key_token.kind in ("dquoted", "bquoted"):
            self.advance()
            key = _unquote(key_token)
        elif key_token.kind in ("name", "number"):
            self.advance()
            key = key_token.text
            end = key_token.position + len(key_token.text)
            # Unquoted keys may contain dots: metrics.val.acc is the metric "val.acc", and
            # metrics.layer.0 is "layer.0" (".0" arrives as a number token).
            while self.current.position == end:
                current = self.current
                if current.kind == "punct" and current.text == ".":
                    after = self.peek()
                    if after.kind not in ("name", "number") or after.position != end + 1:
                        break
                    self.advance()
                    key += "." + self.advance().text
                    end = after.position + len(after.text)
                elif current.kind == "number" and current.text.startswith("."):
                    key += self.advance().text
                    end = current.position + len(current.text)
                else:
                    break
        else:
            raise self.fail(f"a key after '{scope.text}.'")
        if not key:
            raise _error(self.text, key_token.position, "empty key")
        return key, key_token.position

    def _expect_word(self, word: str) -> None:
        if self.current.word != word:
            raise self.fail(f"'{word}'")
        self.advance()

    def _expect_punct(self, char: str) -> None:
        if self.current.kind != "punct" or self.current.text != char:
            raise self.fail(f"'{char}'")
        self.advance()

    def parse(self) -> Expr:
        """Return the expression tree of the whole text."""
        expr = self._or_expr()
        if self.current.kind != "end":
            raise self.fail("'and', 'or' or end of filter")
        return expr

    def _or_expr(self) -> Expr:
        parts = [self._and_expr()]
        while self.current.word == "or":
            self.advance()
            parts.append(self._and_expr())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def _and_expr(self) -> Expr:
        parts = [self._not_expr()]
        while self.current.word == "and":
            self.advance()
            parts.append(self._not_expr())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def _not_expr(self) -> Expr:
        token = self.current
        if token.word == "not" or (token.kind == "punct" and token.text == "("):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise _limit(
                    self.text,
                    token.position,
                    f"nested more than {MAX_DEPTH} levels deep",
                    MAX_DEPTH,
                    "MAX_DEPTH",
                )
            self.advance()
            if token.word == "not":
                expr: Expr = Not(self._not_expr())
            else:
                expr = self._or_expr()
                self._expect_punct(")")
            self.depth -= 1
            return expr
        return self._predicate()

    def field(self) -> Field:
        """Read a field at the current position (the hook subclasses override)."""
        token = self.current
        if token.kind != "name":
            raise self.fail(
                "a field such as metrics.loss, params.lr, tags.team or attributes.status"
            )
        return parse_field_tokens(self)

    def _count(self, field: Field) -> None:
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise _limit(
                self.text,
                field.position,
                f"more than {MAX_CONDITIONS} conditions",
                MAX_CONDITIONS,
                "MAX_CONDITIONS",
            )
        if field.is_joined:
            self.joins += 1
            if self.joins > MAX_JOINS:
                raise _limit(
                    self.text,
                    field.position,
                    f"more than {MAX_JOINS} conditions on {field.scope} and other joined fields",
                    MAX_JOINS,
                    "MAX_JOINS",
                )

    def _predicate(self) -> Expr:
        field = self.field()
        self._count(field)
        token = self.current
        if token.kind == "op":
            self.advance()
            op = {"==": "=", "<>": "!="}.get(token.text, token.text)
            value = self.value(field, op)
            return Compare(field, op, value)
        negated = False
        if token.word == "not":
            negated = True
            self.advance()
            token = self.current
        if token.word in ("like", "ilike"):
            self.advance()
            if field.is_numeric:
                raise _error(
                    self.text,
                    token.position,
                    f"'{token.word}' needs a text field; {field.scope}.{field.key} holds numbers",
                )
            pattern = self.current
            if pattern.kind not in ("string", "dquoted"):
                raise self.fail(f"a quoted pattern after '{token.word}'")
            self.advance()
            return Compare(field, token.word, _unquote(pattern), negated=negated)
        if token.word == "in":
            self.advance()
            self._expect_punct("(")
            values = [self.value(field, "in")]
            while self.current.kind == "punct" and self.current.text == ",":
                if len(values) == MAX_IN_VALUES:
                    raise _limit(
                        self.text,
                        self.current.position,
                        f"more than {MAX_IN_VALUES} values in one 'in' list",
                        MAX_IN_VALUES,
                        "MAX_IN_VALUES",
                    )
                self.advance()
                values.append(self.value(field, "in"))
            self._expect_punct(")")
            return In(field, tuple(values), negated=negated)
        if negated:
            raise self.fail("'like', 'ilike' or 'in' after 'not'")
        if token.word == "is":
            self.advance()
            is_not = False
            if self.current.word == "not":
                is_not = True
                self.advance()
            self._expect_word("null")
            return IsNull(field, negated=is_not)
        raise self.fail("a comparison (=, !=, <, <=, >, >=, like, ilike, in, is null)")

    def value(self, field: Field, op: str) -> Value:
        """Read a value compared with ``field`` by ``op``: a number if the field is numeric."""
        token = self.current
        if token.kind == "number":
            self.advance()
            if field.is_numeric:
                return float(token.text)
            if op in ("<", "<=", ">", ">="):
                raise _error(
                    self.text,
                    token.position,
                    f"{field.scope}.{field.key} holds text; compare it with a quoted "
                    f"value ('{token.text}')",
                )
            return token.text
        if token.kind in ("string", "dquoted"):
            self.advance()
            text = _unquote(token)
            if field.is_numeric:
                try:
                    return float(text)
                except ValueError:
                    raise _error(
                        self.text,
                        token.position,
                        f"{field.scope}.{field.key} holds numbers, not {token.text}",
                    ) from None
            return text
        raise self.fail("a value (a number or a quoted string)")


def parse_field_tokens(parser: Parser) -> Field:
    """Parse ``scope.key`` at the parser's position (shared by filters and order-by)."""
    token = parser.advance()
    scope = _SCOPES.get(token.text.lower())
    if scope is None:
        # A bare attribute name (`status = 'failed'`, `start_time DESC`) is allowed.
        name = _ATTRIBUTE_ALIASES.get(token.text.lower(), token.text.lower())
        if name in ATTRIBUTES:
            return Field("attributes", name, token.position)
        raise _error(
            parser.text,
            token.position,
            f"unknown field {token.text!r}: start with metrics., params., tags. or attributes.",
        )
    key, key_position = parser.read_key(token)
    if scope == "attributes":
        name = _ATTRIBUTE_ALIASES.get(key.lower(), key.lower())
        if name not in ATTRIBUTES:
            raise _error(
                parser.text,
                key_position,
                f"unknown attribute {key!r}; known: {', '.join(sorted(ATTRIBUTES))}",
            )
        key = name
    return Field(scope, key, token.position)


def parse_filter(text: str | None) -> Expr | None:
    """Parse filter text into an expression tree; empty or None means no filter."""
    if text is None or not text.strip():
        return None
    return Parser(text).parse()


def parse_order_by(clauses: list[str] | None) -> list[OrderKey]:
    """Parse ``["metrics.loss ASC", "attributes.start_time DESC"]`` into order keys."""
    check_order_by(clauses)
    keys: list[OrderKey] = []
    for clause in clauses or []:
        parser = Parser(clause)
        field = parser.field() if parser.current.kind == "name" else None
        if field is None:
            raise parser.fail("a field to order by")
        ascending = True
        if parser.current.word in ("asc", "desc"):
            ascending = parser.advance().word == "asc"
        if parser.current.kind != "end":
            raise parser.fail("ASC, DESC or end of clause")
        keys.append(OrderKey(field, ascending))
    return keys


def check_order_by(clauses: list[str] | None) -> None:
    """Raise LimitExceeded if ``clauses`` has more than :data:`MAX_ORDER_BY_KEYS` keys."""
    if clauses is not None and len(clauses) > MAX_ORDER_BY_KEYS:
        raise LimitExceeded(
            f"order_by has {len(clauses)} clauses, more than {MAX_ORDER_BY_KEYS} (limit "
            f"MAX_ORDER_BY_KEYS = {MAX_ORDER_BY_KEYS}; see the Limits section of "
            "docs/search.md)",
            limit=MAX_ORDER_BY_KEYS,
            limit_name="MAX_ORDER_BY_KEYS",
        )
