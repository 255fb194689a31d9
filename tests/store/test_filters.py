"""The run search language: parse_filter and parse_order_by, by example and by property."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from windlass.exceptions import InvalidFilter, InvalidInput, LimitExceeded
from windlass.store.filters import (
    ATTRIBUTES,
    MAX_JOINS,
    And,
    Compare,
    Expr,
    Field,
    In,
    IsNull,
    Not,
    Or,
    OrderKey,
    parse_filter,
    parse_order_by,
)

PROPERTY = settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def strip(node: Any) -> Any:
    """Return ``node`` with every field position set to 0 (positions depend on spacing)."""
    if isinstance(node, Field):
        return dataclasses.replace(node, position=0)
    if isinstance(node, (Compare, In, IsNull)):
        return dataclasses.replace(node, field=strip(node.field))
    if isinstance(node, (And, Or)):
        return type(node)(tuple(strip(p) for p in node.parts))
    if isinstance(node, Not):
        return Not(strip(node.part))
    if isinstance(node, OrderKey):
        return OrderKey(strip(node.field), node.ascending)
    raise AssertionError(f"not a filter node: {node!r}")


def outcome(
    parse: Callable[[Any], Any], arg: Any
) -> tuple[Any, InvalidFilter | LimitExceeded | None]:
    """Return ``(result, None)`` or ``(None, the InvalidFilter or LimitExceeded raised)``.

    Other errors escape. Both errors name the position in ``details``.
    """
    try:
        return parse(arg), None
    except (InvalidFilter, LimitExceeded) as error:
        return None, error


def parsed(text: str) -> Expr:
    expr = parse_filter(text)
    assert expr is not None
    return strip(expr)


def F(scope: str, key: str) -> Field:
    return Field(scope, key)  # type: ignore[arg-type]


def C(scope: str, key: str, op: str, value: Any, negated: bool = False) -> Compare:
    return Compare(F(scope, key), op, value, negated)


LOSS = C("metrics", "loss", "<", 1.0)
LR = C("params", "lr", "=", "0.1")
TEAM = C("tags", "team", "=", "a")


# -- empty filters --------------------------------------------------------------------------
@pytest.mark.parametrize("text", [None, "", "   ", "\n\t "])
def test_empty_filter_means_no_filter(text: str | None) -> None:
    assert parse_filter(text) is None


# -- precedence and grouping ----------------------------------------------------------------
def test_and_binds_tighter_than_or() -> None:
    text = "metrics.loss < 1 or params.lr = '0.1' and tags.team = 'a'"
    assert parsed(text) == Or((LOSS, And((LR, TEAM))))
    text = "metrics.loss < 1 and params.lr = '0.1' or tags.team = 'a'"
    assert parsed(text) == Or((And((LOSS, LR)), TEAM))


def test_not_binds_tighter_than_and() -> None:
    text = "not metrics.loss < 1 and params.lr = '0.1'"
    assert parsed(text) == And((Not(LOSS), LR))
    assert parsed("not not metrics.loss < 1") == Not(Not(LOSS))


def test_parentheses_override_precedence() -> None:
    text = "(metrics.loss < 1 or params.lr = '0.1') and tags.team = 'a'"
    assert parsed(text) == And((Or((LOSS, LR)), TEAM))
    text = "not (metrics.loss < 1 or params.lr = '0.1')"
    assert parsed(text) == Not(Or((LOSS, LR)))


def test_redundant_parentheses_add_no_nodes() -> None:
    assert parsed("((metrics.loss < 1))") == LOSS
    assert parsed("(metrics.loss < 1) and ((params.lr = '0.1'))") == And((LOSS, LR))


def test_chains_flatten_but_groups_nest() -> None:
    text = "metrics.loss < 1 and params.lr = '0.1' and tags.team = 'a'"
    assert parsed(text) == And((LOSS, LR, TEAM))
    text = "(metrics.loss < 1 and params.lr = '0.1') and tags.team = 'a'"
    assert parsed(text) == And((And((LOSS, LR)), TEAM))
    text = "metrics.loss < 1 or params.lr = '0.1' or tags.team = 'a'"
    assert parsed(text) == Or((LOSS, LR, TEAM))


# -- operators and values -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("op", "canonical"),
    [
        ("=", "="),
        ("==", "="),
        ("!=", "!="),
        ("<>", "!="),
        ("<", "<"),
        ("<=", "<="),
        (">", ">"),
        (">=", ">="),
    ],
)
def test_every_comparison_operator(op: str, canonical: str) -> None:
    assert parsed(f"metrics.acc {op} 0.5") == C("metrics", "acc", canonical, 0.5)
    assert parsed(f"metrics.acc{op}0.5") == C("metrics", "acc", canonical, 0.5)


def test_numeric_fields_get_floats_and_text_fields_get_text() -> None:
    assert parsed("metrics.loss = 3") == C("metrics", "loss", "=", 3.0)
    assert parsed("metrics.loss = '3.5'") == C("metrics", "loss", "=", 3.5)
    assert parsed("metrics.loss > -1e-3") == C("metrics", "loss", ">", -0.001)
    assert parsed("metrics.loss > .5") == C("metrics", "loss", ">", 0.5)
    assert parsed("attributes.start_time >= 1700000000000") == C(
        "attributes", "start_time", ">=", 1.7e12
    )
    # A number compared for equality with a text field keeps its exact spelling.
    assert parsed("params.lr = 1e-3") == C("params", "lr", "=", "1e-3")
    assert parsed("params.lr = 0.10") == C("params", "lr", "=", "0.10")
    assert parsed("params.lr < '0.5'") == C("params", "lr", "<", "0.5")


def test_string_quoting_and_escapes() -> None:
    assert parsed("tags.note = 'it''s'") == C("tags", "note", "=", "it's")
    assert parsed('tags.note = "say ""hi"""') == C("tags", "note", "=", 'say "hi"')
    assert parsed("tags.note = ''") == C("tags", "note", "=", "")
    assert parsed("tags.note = 'a and b or not c'") == C("tags", "note", "=", "a and b or not c")
    assert parsed("tags.note = 'line\nbreak'") == C("tags", "note", "=", "line\nbreak")
    assert parsed("tags.note = 'ünïcödé ✓'") == C("tags", "note", "=", "ünïcödé ✓")


@pytest.mark.parametrize("word", ["like", "ilike", "LIKE", "ILike"])
def test_like_and_ilike(word: str) -> None:
    op = word.lower()
    assert parsed(f"params.model {word} 'res%'") == C("params", "model", op, "res%")
    assert parsed(f'tags.owner not {word} "%bot"') == C("tags", "owner", op, "%bot", True)
    assert parsed(f"attributes.name {word} 'run-_'") == C("attributes", "name", op, "run-_")


def test_in_and_not_in() -> None:
    assert parsed("params.opt in ('adam', 'sgd')") == In(F("params", "opt"), ("adam", "sgd"))
    assert parsed("params.opt NOT IN ('adam')") == In(F("params", "opt"), ("adam",), True)
    assert parsed("metrics.epoch in (1, '2', 3.5)") == In(F("metrics", "epoch"), (1.0, 2.0, 3.5))
    assert parsed("params.depth in (3, 4)") == In(F("params", "depth"), ("3", "4"))
    assert parsed("attributes.status in ('failed','killed')") == In(
        F("attributes", "status"), ("failed", "killed")
    )


def test_is_null_and_is_not_null() -> None:
    assert parsed("metrics.loss is null") == IsNull(F("metrics", "loss"))
    assert parsed("params.lr IS NOT NULL") == IsNull(F("params", "lr"), True)
    assert parsed("attributes.end_time Is Null") == IsNull(F("attributes", "end_time"))
    assert parsed("not tags.team is not null") == Not(IsNull(F("tags", "team"), True))


# -- fields and keys ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("metrics.loss", F("metrics", "loss")),
        ("metric.loss", F("metrics", "loss")),
        ("METRICS.loss", F("metrics", "loss")),
        ("params.lr", F("params", "lr")),
        ("param.lr", F("params", "lr")),
        ("tags.team", F("tags", "team")),
        ("tag.team", F("tags", "team")),
        ("attributes.status", F("attributes", "status")),
        ("attribute.status", F("attributes", "status")),
        ("attr.status", F("attributes", "status")),
        ("run.status", F("attributes", "status")),
        ("attributes.STATUS", F("attributes", "status")),
        ("attributes.run_id", F("attributes", "id")),
        ("attributes.run_name", F("attributes", "name")),
        ("status", F("attributes", "status")),
        ("Status", F("attributes", "status")),
        ("run_id", F("attributes", "id")),
        ("run_name", F("attributes", "name")),
        ("git_commit", F("attributes", "git_commit")),
    ],
)
def test_scopes_aliases_and_bare_attributes(text: str, field: Field) -> None:
    assert parsed(f"{text} is null") == IsNull(field)


def test_metric_keys_keep_their_case() -> None:
    assert parsed("metrics.Val_Loss is null") == IsNull(F("metrics", "Val_Loss"))


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("metrics.`val loss`", "val loss"),
        ("metrics.`a.b c`", "a.b c"),
        ("metrics.`and`", "and"),
        ("metrics.`it's`", "it's"),
        ('metrics."val loss"', "val loss"),
        ('metrics."say ""x"""', 'say "x"'),
        ('metrics."a`b"', "a`b"),
        ('metrics.`a"b`', 'a"b'),
        ("metrics.`train/loss:1`", "train/loss:1"),
    ],
)
def test_quoted_keys(text: str, key: str) -> None:
    assert parsed(f"{text} > 0") == C("metrics", key, ">", 0.0)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("metrics.val.acc", "val.acc"),
        ("metrics.a.b.c", "a.b.c"),
        ("metrics.train-loss", "train-loss"),
        ("metrics.train/loss", "train/loss"),
        ("metrics.eval:f1", "eval:f1"),
        ("metrics.and", "and"),
        ("metrics.metrics", "metrics"),
    ],
)
def test_unquoted_dotted_keys(text: str, key: str) -> None:
    assert parsed(f"{text} > 0") == C("metrics", key, ">", 0.0)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("metrics.layer.0", "layer.0"),
        ("metrics.layer.0.grad", "layer.0.grad"),
        ("metrics.epoch.10", "epoch.10"),
        ("metrics.0", "0"),
    ],
)
def test_unquoted_keys_with_numeric_parts(text: str, key: str) -> None:
    # Metric keys like "layer.0" are valid (digits and dots are key characters); the
    # unquoted form must parse like the other dotted keys.
    assert parsed(f"{text} > 1") == C("metrics", key, ">", 1.0)


def test_keywords_are_case_insensitive() -> None:
    text = (
        "NOT metrics.loss < 1 AND params.lr = '0.1' Or tags.team Is Not Null "
        "aNd params.opt NoT In ('x') oR params.m NOT ILIKE 'r%'"
    )
    assert parsed(text) == Or(
        (
            And((Not(LOSS), LR)),
            And((IsNull(F("tags", "team"), True), In(F("params", "opt"), ("x",), True))),
            C("params", "m", "ilike", "r%", True),
        )
    )


def test_field_positions_point_at_the_field() -> None:
    text = "metrics.loss < 1 and  (status = 'x' or tags.`a b` is null)"
    expr = parse_filter(text)
    assert isinstance(expr, And)
    first, group = expr.parts
    assert isinstance(first, Compare)
    assert first.field.position == 0
    assert isinstance(group, Or)
    positions = [p.field.position for p in group.parts]  # type: ignore[union-attr]
    assert positions == [text.index("status"), text.index("tags")]


# -- errors ---------------------------------------------------------------------------------
BAD_FILTERS = [
    # (filter, position of the problem, words the message must contain)
    ("metrics.loss >", 14, "expected a value"),
    ("metrics.loss > 1 and", 20, "end of filter"),
    ("metrics.loss > 1 or ", 20, "end of filter"),
    ("and metrics.loss > 1", 0, "unknown field"),
    ("bogus.x = 1", 0, "unknown field 'bogus'"),
    ("loss > 1", 0, "unknown field 'loss'"),
    ("metrics.loss = 'abc", 15, "unterminated quote '"),
    ('tags.x = "abc', 9, 'unterminated quote "'),
    ("metrics.`abc = 1", 8, "unterminated quote `"),
    ("metrics.loss like 'a%'", 13, "needs a text field"),
    ("attributes.start_time ilike '1%'", 22, "needs a text field"),
    ("params.lr < 5", 12, "holds text"),
    ("tags.x >= 1.5", 10, "holds text"),
    ("metrics.loss = 'abc'", 15, "holds numbers"),
    ("metrics.loss in (1, 'x')", 20, "holds numbers"),
    ("attributes.nope = 1", 11, "unknown attribute 'nope'"),
    ("metrics.loss = 1 )", 17, "'and', 'or' or end of filter"),
    ("(metrics.loss = 1", 17, "expected ')'"),
    ("metrics.loss = 1 metrics.acc = 2", 17, "'and', 'or' or end of filter"),
    ("metrics.loss ~ 1", 13, "unexpected character '~'"),
    ("metrics.loss = 1 && metrics.acc = 2", 17, "unexpected character '&'"),
    ("metrics. = 1", 9, "a key after 'metrics.'"),
    ("metrics.`` = 1", 8, "empty key"),
    ('metrics."" = 1', 8, "empty key"),
    ("metrics loss = 1", 8, "'.' after 'metrics'"),
    ("metrics", 7, "'.' after 'metrics'"),
    ("metrics.x in ()", 14, "expected a value"),
    ("metrics.x in (1,)", 16, "expected a value"),
    ("metrics.x in 1", 13, "expected '('"),
    ("metrics.x in (1", 15, "expected ')'"),
    ("metrics.x not = 1", 14, "'like', 'ilike' or 'in' after 'not'"),
    ("metrics.x not is null", 14, "after 'not'"),
    ("metrics.x is nul", 13, "expected 'null'"),
    ("metrics.x is not", 16, "expected 'null'"),
    ("metrics.x is", 12, "expected 'null'"),
    ("params.x like 5", 14, "a quoted pattern"),
    ("params.x like tags.y", 14, "a quoted pattern"),
    ("metrics.x", 9, "expected a comparison"),
    ("metrics.x = params.y", 12, "expected a value"),
    ("()", 1, "a field"),
    ("not", 3, "a field"),
    ("1 = metrics.x", 0, "a field"),
    ("'x' = params.y", 0, "a field"),
    ("metrics.x = 1and params.y = 'a'", 12, "unexpected character '1'"),
    ("metrics.x = 1 and not", 21, "a field"),
    ("metrics.x == == 1", 13, "expected a value"),
]


@pytest.mark.parametrize(
    ("text", "position", "words"), BAD_FILTERS, ids=[case[0] for case in BAD_FILTERS]
)
def test_bad_filters_name_the_position(text: str, position: int, words: str) -> None:
    with pytest.raises(InvalidFilter) as caught:
        parse_filter(text)
    error = caught.value
    assert error.details["position"] == position
    assert error.details["filter"] == text
    assert error.error_code == "INVALID_FILTER"
    assert error.http_status == 400
    assert isinstance(error, InvalidInput)
    assert words in error.message
    assert f"at position {position}" in error.message
    # The message ends with the filter and a caret under the problem.
    lines = error.message.splitlines()
    assert lines[-2] == f"  {text}" or "\n" in text
    assert lines[-1] == "  " + " " * position + "^"


@pytest.mark.parametrize("depth", [50, 400, 2000])
def test_deep_nesting_is_parsed_or_refused_cleanly(depth: int) -> None:
    # Filters may be up to 20,000 characters over REST: nesting must never blow the stack
    # (a RecursionError would be a 500 from the server).
    for text in [
        "(" * depth + "metrics.x = 1" + ")" * depth,
        "not " * depth + "metrics.x = 1",
        "(not " * depth + "metrics.x = 1" + ")" * depth,
    ]:
        expr, error = outcome(parse_filter, text)
        if error is not None:
            assert 0 <= error.details["position"] <= len(text)
        else:
            assert expr is not None
            node: Any = strip(expr)
            while isinstance(node, Not):
                node = node.part
            assert node == C("metrics", "x", "=", 1.0)


# -- order by -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("metrics.loss", OrderKey(F("metrics", "loss"), True)),
        ("metrics.loss ASC", OrderKey(F("metrics", "loss"), True)),
        ("metrics.loss desc", OrderKey(F("metrics", "loss"), False)),
        ("metrics.loss DeSc", OrderKey(F("metrics", "loss"), False)),
        ("attributes.start_time DESC", OrderKey(F("attributes", "start_time"), False)),
        ("start_time", OrderKey(F("attributes", "start_time"), True)),
        ("run_name desc", OrderKey(F("attributes", "name"), False)),
        ("params.`learning rate` desc", OrderKey(F("params", "learning rate"), False)),
        ('tags."owner" asc', OrderKey(F("tags", "owner"), True)),
        ("metrics.val.acc desc", OrderKey(F("metrics", "val.acc"), False)),
        ("  metrics.loss   ", OrderKey(F("metrics", "loss"), True)),
    ],
)
def test_order_by_clauses(clause: str, expected: OrderKey) -> None:
    assert [strip(k) for k in parse_order_by([clause])] == [expected]


def test_order_by_several_clauses_keep_their_order() -> None:
    keys = parse_order_by(["metrics.loss", "params.lr DESC", "attributes.start_time ASC"])
    assert [strip(k) for k in keys] == [
        OrderKey(F("metrics", "loss")),
        OrderKey(F("params", "lr"), False),
        OrderKey(F("attributes", "start_time")),
    ]
    assert parse_order_by(None) == []
    assert parse_order_by([]) == []


@pytest.mark.parametrize(
    ("clause", "position", "words"),
    [
        ("", 0, "a field to order by"),
        ("   ", 3, "a field to order by"),
        ("metrics.loss up", 13, "ASC, DESC or end of clause"),
        ("metrics.loss asc desc", 17, "ASC, DESC or end of clause"),
        ("metrics.loss, params.lr", 12, "ASC, DESC or end of clause"),
        ("bogus.x", 0, "unknown field 'bogus'"),
        ("metrics", 7, "'.' after 'metrics'"),
        ("attributes.nope", 11, "unknown attribute 'nope'"),
        ("(metrics.x)", 0, "a field to order by"),
        ("'metrics.x'", 0, "a field to order by"),
        ("metrics.x = 1", 10, "ASC, DESC or end of clause"),
        ("metrics.`x", 8, "unterminated quote `"),
    ],
)
def test_bad_order_by_names_the_position(clause: str, position: int, words: str) -> None:
    with pytest.raises(InvalidFilter) as caught:
        parse_order_by(["metrics.ok", clause])
    assert caught.value.details["position"] == position
    assert caught.value.details["filter"] == clause
    assert words in caught.value.message


# -- properties -----------------------------------------------------------------------------
KEY_CHARS = "abcXYZ019_-./ :"
NAME_HEAD = "abcxyzABC_"
NAME_TAIL = "abcxyzABC019_-/:"
TEXT_ATTRIBUTES = sorted(k for k, kind in ATTRIBUTES.items() if kind == "text")
NUMBER_ATTRIBUTES = sorted(k for k, kind in ATTRIBUTES.items() if kind == "number")
SCOPE_SPELLINGS = {
    "metrics": ["metrics", "metric", "METRICS", "Metric"],
    "params": ["params", "param", "PARAMS"],
    "tags": ["tags", "tag", "Tags"],
    "attributes": ["attributes", "attribute", "attr", "run", "ATTRIBUTES"],
}
# Unquoted keys: dotted parts that are names or digits (metrics.val.acc, metrics.layer.0).
KEY_PART = r"(?:[A-Za-z_][A-Za-z0-9_\-/:]*|\d+)"
UNQUOTED_KEY = re.compile(rf"{KEY_PART}(?:\.{KEY_PART})*")
PLAIN_NUMBER = re.compile(r"[-+]?\d+(\.\d+)?")


@st.composite
def fields(draw: st.DrawFn) -> Field:
    scope = draw(st.sampled_from(["metrics", "params", "tags", "attributes"]))
    if scope == "attributes":
        key = draw(st.sampled_from(sorted(ATTRIBUTES)))
    else:
        key = draw(st.text(KEY_CHARS, min_size=1, max_size=12))
    return Field(scope, key)  # type: ignore[arg-type]


def values_for(field: Field) -> st.SearchStrategy[str | float]:
    if field.is_numeric:
        return st.floats(allow_nan=False, allow_infinity=False)
    return st.one_of(st.text(max_size=10), st.integers(-999, 999).map(str))


@st.composite
def predicates(draw: st.DrawFn) -> Expr:
    field = draw(fields())
    kind = draw(st.sampled_from(["compare", "in", "null"]))
    if kind == "null":
        return IsNull(field, draw(st.booleans()))
    if kind == "in":
        values = tuple(draw(st.lists(values_for(field), min_size=1, max_size=4)))
        return In(field, values, draw(st.booleans()))
    ops = ["=", "!=", "<", "<=", ">", ">="]
    if not field.is_numeric:
        ops += ["like", "ilike"]
    op = draw(st.sampled_from(ops))
    if op in ("like", "ilike"):
        return Compare(field, op, draw(st.text(max_size=10)), draw(st.booleans()))
    return Compare(field, op, draw(values_for(field)))


def trees() -> st.SearchStrategy[Expr]:
    return st.recursive(
        predicates(),
        lambda inner: st.one_of(
            st.lists(inner, min_size=2, max_size=4).map(lambda ps: And(tuple(ps))),
            st.lists(inner, min_size=2, max_size=4).map(lambda ps: Or(tuple(ps))),
            inner.map(Not),
        ),
        # Within the documented limits (each leaf may be a join): trees over them are
        # LimitExceeded, tested in test_search_limits.py.
        max_leaves=MAX_JOINS,
    )


def quote(text: str, mark: str) -> str:
    return mark + text.replace(mark, mark * 2) + mark


class Renderer:
    """Renders a tree to filter text, choosing spellings at random (all meaning the same)."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw

    def pick(self, options: list[str]) -> str:
        return self.draw(st.sampled_from(options))

    def word(self, word: str) -> str:
        return self.pick([word, word.upper(), word.capitalize()])

    def space(self) -> str:
        return self.pick([" ", "  ", "\n", "\t "])

    def field(self, field: Field) -> str:
        if field.scope == "attributes" and self.draw(st.booleans()):
            return field.key  # bare attribute name
        scope = self.pick(SCOPE_SPELLINGS[field.scope])
        key = field.key
        styles = ["backtick", "double"]
        if UNQUOTED_KEY.fullmatch(key):
            styles.append("plain")
        style = self.pick(styles)
        if style == "plain":
            return f"{scope}.{key}"
        if style == "backtick":
            return f"{scope}.`{key}`"
        return f"{scope}.{quote(key, chr(34))}"

    def value(self, field: Field, value: str | float, op: str) -> str:
        if isinstance(value, float):
            return self.pick([repr(value), quote(repr(value), "'")])
        styles = [quote(value, "'"), quote(value, '"')]
        if PLAIN_NUMBER.fullmatch(value) and op in ("=", "!=", "in"):
            styles.append(value)
        return self.pick(styles)

    def render(self, node: Expr, group: bool = False) -> str:
        text = self._render(node)
        if group or self.draw(st.integers(0, 5)) == 0:
            return f"({text})"
        return text

    def _render(self, node: Expr) -> str:
        if isinstance(node, (And, Or)):
            joiner = (
                self.space() + self.word("and" if isinstance(node, And) else "or") + self.space()
            )
            # Same-kind children must be grouped (or they would flatten); an Or inside an
            # And must be grouped (precedence).
            return joiner.join(
                self.render(
                    p,
                    group=isinstance(p, (And, Or))
                    and not (
                        isinstance(node, Or) and isinstance(p, And) and self.draw(st.booleans())
                    ),
                )
                for p in node.parts
            )
        if isinstance(node, Not):
            return (
                self.word("not")
                + self.space()
                + self.render(node.part, group=isinstance(node.part, (And, Or)))
            )
        field = self.field(node.field)
        if isinstance(node, IsNull):
            middle = self.word("is") + (" " + self.word("not") if node.negated else "")
            return f"{field} {middle} {self.word('null')}"
        if isinstance(node, In):
            values = ("," + self.pick(["", " "])).join(
                self.value(node.field, v, "in") for v in node.values
            )
            negation = self.word("not") + " " if node.negated else ""
            return f"{field} {negation}{self.word('in')} ({values})"
        if node.op in ("like", "ilike"):
            negation = self.word("not") + " " if node.negated else ""
            assert isinstance(node.value, str)
            pattern = self.value(node.field, node.value, "like")
            return f"{field} {negation}{self.word(node.op)} {pattern}"
        op = {"=": ["=", "=="], "!=": ["!=", "<>"]}.get(node.op, [node.op])
        return (
            f"{field}{self.space()}{self.pick(op)}{self.space()}"
            f"{self.value(node.field, node.value, node.op)}"
        )


@st.composite
def rendered_trees(draw: st.DrawFn) -> tuple[Expr, str]:
    tree = draw(trees())
    return tree, Renderer(draw).render(tree)


@PROPERTY
@given(rendered_trees())
def test_parse_inverts_render(case: tuple[Expr, str]) -> None:
    tree, text = case
    assert parsed(text) == tree


FILTER_WORDS = [
    "metrics",
    "params",
    "tags",
    "attributes",
    "status",
    "start_time",
    ".",
    "loss",
    "`a b`",
    '"k"',
    "and",
    "or",
    "not",
    "in",
    "is",
    "null",
    "like",
    "ilike",
    "(",
    ")",
    ",",
    "=",
    "!=",
    "<",
    ">=",
    "'x'",
    "'",
    '"',
    "`",
    "1",
    "-2.5e3",
    ".5",
    "1e999",
    "asc",
    "desc",
    " ",
    "\n",
    "~",
    "\x00",
    "é",
]


@PROPERTY
@given(
    st.one_of(
        st.text(max_size=60),
        st.lists(st.sampled_from(FILTER_WORDS), max_size=25).map("".join),
        st.lists(st.sampled_from(FILTER_WORDS), max_size=25).map(" ".join),
    )
)
def test_any_text_parses_or_raises_invalid_filter(text: str) -> None:
    result, error = outcome(parse_filter, text)
    if error is not None:
        assert 0 <= error.details["position"] <= len(text)
        assert error.details["filter"] == text
    else:
        assert result is None or isinstance(result, (Compare, In, IsNull, And, Or, Not))
    keys, error = outcome(parse_order_by, [text])
    if error is not None:
        assert 0 <= error.details["position"] <= len(text)
    else:
        assert len(keys) == 1
