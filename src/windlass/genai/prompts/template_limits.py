"""Resource limits of prompt templates: every string, list and loop a render builds is bounded.

A prompt template is code from whoever registers it, run by whoever renders it, so nothing
it does may take unbounded memory or time. Three limits hold for one render:

- the rendered text (each message's content) has at most ``WINDLASS_TEMPLATE_MAX_OUTPUT_CHARS``
  characters; the render streams and stops as soon as it passes the limit;
- no string the template builds is longer than that either: ``~``, ``+``, ``*``, ``%``,
  ``str.format``, the growing filters (``center``, ``indent``, ``format``, ``wordwrap``,
  ``join``, ``replace``...) and string methods (``ljust``, ``zfill``, ``join``...) check
  the size of their result *before* building it, from their arguments; turning a value into
  text (output, ``string``, ``tojson``...) first measures it, so a list that holds one
  big list a thousand times is refused rather than printed; a block captured with
  ``{% set %}`` or a macro's body is joined only when it fits; lists from ``*``, ``+``,
  ``batch`` or ``sum`` have at most :data:`MAX_ITEMS` items;
- ``{% for %}`` iterations (nested loops multiply) are at most
  ``WINDLASS_TEMPLATE_MAX_LOOP_ITERATIONS``; ``range()`` is capped at the same number, and
  a render makes at most :data:`MAX_MACRO_CALLS` macro calls;
- all text one render builds (output, captured blocks, checked operations) plus the items
  it walks (slices, ``in``, ``sort`` and the other filters that go through a list) is at
  most :data:`BUILT_FACTOR` times the output limit, so a loop repeating an operation under
  the limit does not add up without bound either.

What is visible in the source (``range(10**9)``, ``'x' * 10**9``, ``'%999999999s'``, nested
``range`` loops whose product is too large) is refused when the template is registered
(:mod:`windlass.genai.prompts.template_source_limits`). Breaking a limit raises
:class:`TemplateLimitError`, a ``jinja2`` ``SecurityError`` that the renderer reports as a
``TemplateError``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from string import Formatter
from typing import Any, NoReturn

import jinja2
from jinja2 import filters, nodes
from jinja2.runtime import LoopContext, Macro
from jinja2.sandbox import SandboxedFormatter
from jinja2.utils import Namespace
from jinja2.visitor import NodeTransformer
from markupsafe import EscapeFormatter, Markup

from windlass import config

#: The most items a list built by ``*``, ``+``, ``sum`` or ``batch`` may have.
MAX_ITEMS = 1_000_000
#: The most bits ``a ** b`` or ``a * b`` may produce with integers.
MAX_INT_BITS = 100_000
#: All text one render builds (output, captured blocks, checked operations) plus the items
#: it walks (slices, ``in``, sorting and other filters over lists) is at most this many
#: times the output limit: many operations, each under it, may not add up without bound.
BUILT_FACTOR = 10
#: The most macro calls (``caller()`` included) one render makes: a call costs far more
#: than a loop iteration, and macros calling themselves twice would otherwise fan out.
MAX_MACRO_CALLS = 10_000
#: What one item counts for when a filter runs Python code on each (``sort``, ``map``,
#: ``select``..., and ``wordwrap``, ``urlize``, ``striptags``, ``title`` per character), in
#: characters of the budget above: such an item costs up to a few microseconds, where
#: copying a character costs a fraction of a nanosecond.
FILTER_ITEM_COST = 50
OUTPUT_SETTING = "WINDLASS_TEMPLATE_MAX_OUTPUT_CHARS"
LOOP_SETTING = "WINDLASS_TEMPLATE_MAX_LOOP_ITERATIONS"


class TemplateLimitError(jinja2.exceptions.SecurityError):
    """A template went over one of its resource limits."""


@dataclass(frozen=True)
class TemplateLimits:
    """The limits of one render: output characters and loop iterations."""

    max_output_chars: int
    max_loop_iterations: int

    @classmethod
    def from_settings(cls) -> TemplateLimits:
        """Return the limits the two template settings give."""
        return cls(
            config.settings.template_max_output_chars, config.settings.template_max_loop_iterations
        )


class RenderBudget:
    """What one render has spent so far: loop iterations, macro calls, text built and output."""

    def __init__(self, limits: TemplateLimits) -> None:
        self.limits = limits
        self.iterations = 0
        self.macro_calls = 0
        self.output_chars = 0
        self.built_chars = 0

    def step(self) -> None:
        """Count one loop iteration; raise once over the limit."""
        self.iterations += 1
        if self.iterations > self.limits.max_loop_iterations:
            raise TemplateLimitError(
                f"the template ran over the limit of {self.limits.max_loop_iterations} loop "
                f"iterations ({LOOP_SETTING})"
            )

    def call_macro(self) -> None:
        """Count one macro call; raise once over :data:`MAX_MACRO_CALLS`."""
        self.macro_calls += 1
        if self.macro_calls > MAX_MACRO_CALLS:
            raise TemplateLimitError(
                f"the template made over the limit of {MAX_MACRO_CALLS} macro calls"
            )

    def charge(self, size: int) -> None:
        """Count ``size`` characters built or items walked; raise once it adds up too much."""
        self.built_chars += size
        most = self.limits.max_output_chars * BUILT_FACTOR
        if self.built_chars > most:
            raise TemplateLimitError(
                f"the text and items the template built or walked in all are over the limit "
                f"of {most} ({BUILT_FACTOR} times {OUTPUT_SETTING})"
            )

    def emit(self, text: str) -> None:
        """Count rendered output; raise once it is over the character limit."""
        self.output_chars += len(text)
        if self.output_chars > self.limits.max_output_chars:
            raise TemplateLimitError(
                f"the rendered text is over the limit of {self.limits.max_output_chars} "
                f"characters ({OUTPUT_SETTING})"
            )


_BUDGET: ContextVar[RenderBudget | None] = ContextVar("windlass_template_budget", default=None)


@contextlib.contextmanager
def render_budget(limits: TemplateLimits) -> Iterator[RenderBudget]:
    """Give the renders inside the block (in this thread or task) one fresh budget."""
    token = _BUDGET.set(RenderBudget(limits))
    try:
        budget = _BUDGET.get()
        assert budget is not None
        yield budget
    finally:
        _BUDGET.reset(token)


def current_budget() -> RenderBudget:
    """Return the budget of the render under way (a fresh one outside renders: compiling)."""
    return _BUDGET.get() or RenderBudget(TemplateLimits.from_settings())


def _max_chars() -> int:
    return current_budget().limits.max_output_chars


def _refuse_chars(what: str, size: int | str) -> NoReturn:
    raise TemplateLimitError(
        f"{what} would be {size} characters, over the limit of {_max_chars()} ({OUTPUT_SETTING})"
    )


def check_chars(what: str, size: int) -> None:
    """Raise TemplateLimitError if a string of ``size`` characters is over the limit.

    The size counts towards all the text the render builds.
    """
    budget = current_budget()
    if size > budget.limits.max_output_chars:
        _refuse_chars(what, size)
    budget.charge(size)


def check_items(what: str, size: int) -> None:
    """Raise TemplateLimitError if a list of ``size`` items is over :data:`MAX_ITEMS`."""
    if size > MAX_ITEMS:
        raise TemplateLimitError(f"{what} would have {size} items, over the limit of {MAX_ITEMS}")


# -- sizes ---------------------------------------------------------------------------------
def text_size(value: Any, limit: int | None = None) -> int:
    """Return about how many characters ``str(value)`` has, measuring at most ``limit``.

    Containers are walked (a list holding the same big list many times counts it every
    time) and the walk stops once past ``limit``, so measuring never costs more than that.
    """
    limit = _max_chars() if limit is None else limit
    if isinstance(value, str | bytes):
        return len(value)
    total = 0
    stack = [value]
    while stack and total <= limit:
        item = stack.pop()
        kind = type(item)
        if kind is list or kind is tuple:
            # every item prints as at least one character and a ", "
            total += 2 + 3 * len(item)
            if total <= limit:
                stack.extend(item)
        elif kind is str or kind is Markup or kind is bytes:
            total += len(item)
        elif kind is int:
            total += item.bit_length() // 3
        elif kind is float or kind is bool or item is None:
            pass
        elif isinstance(item, Mapping):
            total += 2 + 6 * len(item)
            if total <= limit:
                stack.extend(item.keys())
                stack.extend(item.values())
        elif isinstance(item, set | frozenset | list | tuple | str | bytes):
            total += 2 + 3 * len(item)
            if total <= limit and not isinstance(item, str | bytes):
                stack.extend(item)
        elif isinstance(item, Namespace):
            total += 16
            stack.append(object.__getattribute__(item, "_Namespace__attrs"))
        else:
            total += 24  # loop, macro and other objects print short
    return total


def check_text(what: str, value: Any) -> None:
    """Raise TemplateLimitError if ``value`` as text would be over the character limit."""
    budget = current_budget()
    limit = budget.limits.max_output_chars
    size = text_size(value, limit)
    if size > limit:
        _refuse_chars(what, f"more than {limit}")
    budget.charge(size)


# -- operators -----------------------------------------------------------------------------
PRINTF = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+)?)?[hlL]?(.)", re.S)


def literal_number(digits: str) -> int:
    """Return a number written with ``digits`` (10**12 for more than 11 digits)."""
    # int() refuses more than 4300 digits; anything that long is over every limit anyway
    return int(digits) if len(digits) < 12 else 10**12


def check_printf(fmt: str, args: Any) -> None:
    """Raise TemplateLimitError if ``fmt % args`` would be over the character limit.

    Widths and precisions (``%999999999s``, ``%.*f`` with the width from ``args``) count
    fully, as do the sizes of the arguments: an over-estimate, never an under-estimate.
    """
    values = (
        list(args.values())
        if isinstance(args, Mapping)
        else list(args)
        if isinstance(args, tuple)
        else [args]
    )
    size = len(fmt)
    stars = False
    for match in PRINTF.finditer(fmt):
        for part in match.group(1), match.group(2):
            if part == "*":
                stars = True
            elif part:
                size += literal_number(part)
    if stars:
        size += sum(abs(v) for v in values if isinstance(v, int) and not isinstance(v, bool))
    limit = _max_chars()
    for value in values:
        size += text_size(value, limit)
        if size > limit:
            break
    check_chars("the formatted text", size)


def check_format_spec(spec: str) -> None:
    """Raise TemplateLimitError if a ``format()`` spec asks for a huge width or precision."""
    check_chars(
        f"a field formatted with {spec[:40]!r}",
        sum(literal_number(d) for d in re.findall(r"\d+", spec)),
    )


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Raise TemplateLimitError if ``left <operator> right`` would build too large a value."""
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(times, int) and not isinstance(times, bool):
                if isinstance(seq, str | bytes):
                    check_chars(
                        f"a repetition of {len(seq)} characters {times} times", len(seq) * times
                    )
                elif isinstance(seq, list | tuple):
                    check_items(f"a repetition of {len(seq)} items {times} times", len(seq) * times)
        if (
            isinstance(left, int)
            and isinstance(right, int)
            and left.bit_length() + right.bit_length() > MAX_INT_BITS
        ):
            raise TemplateLimitError(
                f"a product of {left.bit_length()} and "
                f"{right.bit_length()} bit numbers is over the limit of "
                f"{MAX_INT_BITS} bits"
            )
    elif operator == "**":
        if (
            isinstance(left, int)
            and isinstance(right, int)
            and right > 0
            and max(left.bit_length(), 1) * right > MAX_INT_BITS
        ):
            raise TemplateLimitError(f"{left} ** {right} is over the limit of {MAX_INT_BITS} bits")
    elif operator == "+":
        if isinstance(left, str | bytes) and isinstance(right, str | bytes):
            check_chars("a sum of texts", len(left) + len(right))
        elif isinstance(left, list | tuple) and isinstance(right, list | tuple):
            check_items("a sum of lists", len(left) + len(right))
    elif operator == "%" and isinstance(left, str):
        check_printf(left, right)


def concat(*parts: Any) -> str:
    """Return ``a ~ b ~ ...``: the parts as text, joined, if the result fits the limit."""
    budget = current_budget()
    limit = budget.limits.max_output_chars
    size = 0
    for part in parts:
        size += text_size(part, limit)
        if size > limit:
            _refuse_chars("a text joined with ~", f"more than {limit}")
    budget.charge(size)
    return "".join(str(part) for part in parts)


def join_output(parts: Iterable[str]) -> str:
    """Return captured template output (``{% set %}`` blocks, macro bodies) joined, if it fits."""
    pieces = list(parts)
    check_chars("a captured block of output", sum(map(len, pieces)))
    return "".join(pieces)


def charge_walk(value: Any, cost: int = 1) -> None:
    """Count the items (or characters) of ``value`` as walked, ``cost`` each, if it has a length."""
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset | range):
        current_budget().charge(len(value) * cost)


def take_slice(value: Any, start: Any, stop: Any, step: Any) -> Any:
    """Return ``value[start:stop:step]``, counting the slice's length as built."""
    part = value[start:stop:step]
    charge_walk(part)
    return part


def contains(item: Any, container: Any) -> bool:
    """Return ``item in container``, counting the container's items as walked."""
    charge_walk(container)
    return item in container


def iterate(iterable: Iterable[Any]) -> Iterator[Any]:
    """Yield the items of a ``{% for %}`` loop, counting each against the render's budget."""
    budget = current_budget()
    for item in iterable:
        budget.step()
        yield item


def bounded_range(*args: int) -> range:
    """Return ``range(*args)`` if it has at most the loop-iteration limit of items."""
    numbers = range(*args)
    limit = current_budget().limits.max_loop_iterations
    if len(numbers) > limit:
        raise TemplateLimitError(
            f"range{args} has {len(numbers)} items, over the limit of {limit} ({LOOP_SETTING})"
        )
    return numbers


def finalize(value: Any) -> Any:
    """Return an output value unchanged once sure its text fits the character limit."""
    if isinstance(value, str):
        current_budget().charge(len(value))
    else:
        check_text("an output value", value)
    return value


# -- calls ---------------------------------------------------------------------------------
def _arg(
    args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str, default: Any
) -> Any:
    return args[index] if len(args) > index else kwargs.get(name, default)


def check_call(
    obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Count macro calls and check the methods that grow text; return the arguments to use.

    ``str.join``'s argument comes back as a list (it is measured before joining);
    a recursive loop's ``loop(items)`` comes back counted like any loop.
    """
    if isinstance(obj, Macro):
        current_budget().call_macro()
        return args, kwargs
    if isinstance(obj, LoopContext) and args:
        return (iterate(args[0]), *args[1:]), kwargs
    owner = getattr(obj, "__self__", None)
    name = getattr(obj, "__name__", "")
    if isinstance(owner, int) and not isinstance(owner, bool) and name == "to_bytes":
        length = _arg(args, kwargs, 0, "length", 1)
        if isinstance(length, int):
            check_chars("int.to_bytes()", length)
    if not isinstance(owner, str | bytes):
        return args, kwargs
    current_budget().charge(len(owner))  # most methods copy the text (upper, strip...)
    if name in ("center", "ljust", "rjust", "zfill"):
        width = _arg(args, kwargs, 0, "width", 0)
        if isinstance(width, int):
            check_chars(f"{name}({width})", width)
    elif name == "expandtabs":
        tabsize = _arg(args, kwargs, 0, "tabsize", 8)
        if isinstance(tabsize, int):
            tabs = owner.count("\t") if isinstance(owner, str) else owner.count(b"\t")
            check_chars(f"expandtabs({tabsize})", len(owner) + tabs * tabsize)
    elif name == "replace" and len(args) >= 2:
        count = _arg(args, kwargs, 2, "count", -1)
        _check_replace(owner, args[0], args[1], count)
    elif name == "join" and args:
        items = list(args[0])
        limit = _max_chars()
        size = len(owner) * max(len(items) - 1, 0)
        for item in items:
            size += text_size(item, limit)
            if size > limit:
                break
        check_chars("a joined text", size)
        return (items, *args[1:]), kwargs
    elif name == "translate" and args and isinstance(args[0], Mapping):
        longest = max((len(v) for v in args[0].values() if isinstance(v, str)), default=1)
        check_chars("a translated text", len(owner) * longest)
    return args, kwargs


def _check_replace(text: Any, old: Any, new: Any, count: Any) -> None:
    if (
        not isinstance(text, str | bytes)
        or not isinstance(old, str | bytes)
        or not isinstance(new, str | bytes)
    ):
        return
    found = len(text) + 1 if not old else text.count(old)  # type: ignore[arg-type,unused-ignore]
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    check_chars("a replaced text", len(text) + found * max(len(new) - len(old), 0))


class BoundedFormatter(SandboxedFormatter):
    """``str.format`` of the sandbox that refuses huge fields and results."""

    def __init__(self, env: jinja2.Environment, **kwargs: Any) -> None:
        super().__init__(env, **kwargs)
        self._size = 0

    def format_field(self, value: Any, format_spec: str) -> Any:
        """Format one field after checking its spec and value, counting the total size."""
        check_format_spec(format_spec)
        check_text("a formatted field", value)
        result = super().format_field(value, format_spec)
        self._size += len(result)
        check_chars("the formatted text", self._size)
        return result


class BoundedEscapeFormatter(BoundedFormatter, EscapeFormatter):
    """The bounded formatter for ``Markup.format`` (escaping its fields)."""


def format_method(env: jinja2.Environment, method: Any) -> Callable[..., str] | None:
    """Return a bounded ``str.format``/``format_map`` for ``method``, or None for others."""
    name = getattr(method, "__name__", "")
    owner = getattr(method, "__self__", None)
    if name not in ("format", "format_map") or not isinstance(owner, str) or not callable(method):
        return None
    text: str = owner

    def formatted(*args: Any, **kwargs: Any) -> str:
        if name == "format_map":
            if kwargs or len(args) != 1:
                raise TypeError("format_map() takes exactly one argument")
            kwargs, args = args[0], ()
        formatter: Formatter = (
            BoundedEscapeFormatter(env, escape=text.escape)
            if isinstance(text, Markup)
            else BoundedFormatter(env)
        )
        return type(text)(formatter.vformat(text, args, kwargs))

    return formatted


# -- filters -------------------------------------------------------------------------------
def _check_center(value: Any, width: Any = 80) -> None:
    if isinstance(width, int):
        check_chars(f"center({width})", max(text_size(value), width))


def _check_indent(value: Any, width: Any = 4, first: bool = False, blank: bool = False) -> None:
    check_text("the indented value", value)
    text = str(value)
    indent = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    check_chars("an indented text", len(text) + (text.count("\n") + 1) * indent)


def _check_wordwrap(
    value: Any,
    width: Any = 79,
    break_long_words: bool = True,
    wrapstring: Any = None,
    break_on_hyphens: bool = True,
) -> None:
    check_text("the wrapped value", value)
    size = text_size(value)
    current_budget().charge(size * FILTER_ITEM_COST)  # textwrap runs per character
    if isinstance(width, int) and width > 0:
        lines = size // width + str(value).count("\n") + 1
        check_chars("a wrapped text", size + lines * len(str(wrapstring or "\n")))


def _check_format(value: Any, *args: Any, **kwargs: Any) -> None:
    check_text("the format", value)
    check_printf(str(value), kwargs or args)


def _check_replace_filter(value: Any, old: Any, new: Any, count: Any = None) -> None:
    check_text("the value to replace in", value)
    _check_replace(str(value), str(old), str(new), -1 if count is None else count)


def _check_batch(value: Any, linecount: Any, fill_with: Any = None) -> None:
    if fill_with is not None and isinstance(linecount, int):
        check_items(f"batch({linecount})", linecount)


def _check_slice(value: Any, slices: Any, fill_with: Any = None) -> None:
    if isinstance(slices, int):
        limit = current_budget().limits.max_loop_iterations
        if slices > limit:
            raise TemplateLimitError(
                f"slice({slices}) is over the limit of {limit} slices ({LOOP_SETTING})"
            )


def _check_sum(value: Any, attribute: Any = None, start: Any = 0) -> Any:
    items = list(value)
    if isinstance(start, list | tuple):
        # by attribute, an item's text size over 3 bounds the items its lists can add
        count = (
            sum(len(item) if isinstance(item, list | tuple) else 1 for item in items)
            if attribute is None
            else text_size(items, 3 * MAX_ITEMS) // 3
        )
        check_items("a sum of lists", len(start) + count)
    return items


def _check_join(value: Any, d: Any = "", attribute: Any = None) -> Any:
    items = list(value)
    limit = _max_chars()
    size = text_size(d, limit) * max(len(items) - 1, 0)
    for item in items:  # a whole item is at least as long as any of its attributes
        size += text_size(item, limit)
        if size > limit:
            break
    check_chars("a joined text", size)
    return items


#: Filters whose result can be much larger than their value, with what checks them first.
#: A check may return a replacement for the value (a generator it had to read, as a list).
_GROWING: dict[str, Callable[..., Any]] = {
    "center": _check_center,
    "indent": _check_indent,
    "wordwrap": _check_wordwrap,
    "format": _check_format,
    "replace": _check_replace_filter,
    "batch": _check_batch,
    "slice": _check_slice,
    "sum": _check_sum,
    "join": _check_join,
}
#: Filters that go through every item of their value: its length counts as walked.
_WALKING = (
    "sort",
    "unique",
    "reverse",
    "map",
    "select",
    "reject",
    "selectattr",
    "rejectattr",
    "groupby",
    "dictsort",
    "min",
    "max",
    "items",
    "list",
)
#: Filters that turn their value into text: it is measured first.
_TEXTUAL = (
    "string",
    "pprint",
    "tojson",
    "truncate",
    "urlize",
    "striptags",
    "title",
    "capitalize",
    "upper",
    "lower",
    "trim",
    "wordcount",
    "escape",
    "e",
    "forceescape",
    "urlencode",
    "xmlattr",
    "safe",
)
#: Text filters that run Python code per character or word: FILTER_ITEM_COST each.
_SLOW_TEXT = ("urlize", "striptags", "title", "wordcount")


def _bounded_filter(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    check = _GROWING.get(name)
    skip = 1 if getattr(original, "jinja_pass_arg", None) is not None else 0

    def bounded(*args: Any, **kwargs: Any) -> Any:
        value, rest = args[skip], args[skip + 1 :]
        if check is not None:
            replaced = check(value, *rest, **kwargs)
            if replaced is not None:
                value = replaced
        elif name in _TEXTUAL:
            check_text(f"the value of the {name} filter", value)
            if name in _SLOW_TEXT:
                current_budget().charge(text_size(value) * FILTER_ITEM_COST)
        else:
            if name == "list" and not isinstance(value, str | list | tuple | Mapping | range):
                value = list(value)  # a generator of another filter, as long as its list
            charge_walk(value, 1 if name == "list" else FILTER_ITEM_COST)
        return original(*args[:skip], value, *rest, **kwargs)

    bounded.__dict__.update(original.__dict__)  # keeps jinja_pass_arg
    bounded.__name__ = getattr(original, "__name__", name)
    bounded.__doc__ = original.__doc__
    return bounded


def bounded_filters(available: Mapping[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """Return the growing, text-making and walking filters of ``available``, checked."""
    return {
        name: _bounded_filter(name, available[name])
        for name in (*_GROWING, *_TEXTUAL, *_WALKING)
        if name in available
    }


assert all(name in filters.FILTERS for name in (*_GROWING, *_TEXTUAL, *_WALKING))


# -- the compiled tree ---------------------------------------------------------------------
def _call(function: Callable[..., Any], args: list[Any], lineno: int) -> nodes.Call:
    target = nodes.ImportedName(f"{__name__}.{function.__name__}", lineno=lineno)
    return nodes.Call(target, args, [], None, None, lineno=lineno)


class _BoundOperations(NodeTransformer):
    """Route ``{% for %}`` items through :func:`iterate`; ``~``, ``in``, slices through checks."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _call(iterate, [node.iter], node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _call(concat, list(node.nodes), node.lineno)

    def visit_Getitem(self, node: nodes.Getitem) -> nodes.Node:
        self.generic_visit(node)
        if not isinstance(node.arg, nodes.Slice) or node.ctx != "load":
            return node
        bounds = [
            nodes.Const(None, lineno=node.lineno) if part is None else part
            for part in (node.arg.start, node.arg.stop, node.arg.step)
        ]
        return _call(take_slice, [node.node, *bounds], node.lineno)

    def visit_Compare(self, node: nodes.Compare) -> nodes.Node:
        self.generic_visit(node)
        if len(node.ops) != 1 or node.ops[0].op not in ("in", "notin"):
            return node
        test = _call(contains, [node.expr, node.ops[0].expr], node.lineno)
        return test if node.ops[0].op == "in" else nodes.Not(test, lineno=node.lineno)


def bound_tree(tree: nodes.Template) -> nodes.Template:
    """Return a parsed template rewritten so its loops, ``~``, ``in`` and slices are bounded."""
    bounded = _BoundOperations().visit(tree)
    assert isinstance(bounded, nodes.Template)
    return bounded
