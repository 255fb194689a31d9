"""Resource limits a prompt template's source already shows, checked before it is stored.

The render itself is bounded by :mod:`windlass.genai.prompts.template_limits`; this refuses early,
with the line, what needs no rendering to see: ``range()`` of integer literals over the
loop limit (``range(10**9)``), nested ``range`` loops whose iterations multiply past it,
``'x' * 10**9`` or ``[1] * 10**9``, printf widths over the output limit (``'%999999999s'``),
and ``center``, ``indent``, ``wordwrap`` or ``batch`` of a literal width over it.
"""

from __future__ import annotations

from typing import Any

from jinja2 import nodes

from windlass.genai.prompts.template_limits import (
    LOOP_SETTING,
    MAX_ITEMS,
    OUTPUT_SETTING,
    PRINTF,
    TemplateLimits,
    literal_number,
)


def _const(node: nodes.Node) -> Any:
    return node.value if isinstance(node, nodes.Const) else None


_HUGE = 10**12  # stands for an integer literal expression too large to compute


def _int_literal(node: nodes.Node) -> int | None:
    """Return the value of an integer literal, or of ``a ** b``, ``a * b``, ``-a`` of them."""
    value = _const(node)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(node, nodes.Neg):
        inner = _int_literal(node.node)
        return None if inner is None else -inner
    if isinstance(node, nodes.Pow | nodes.Mul):
        left, right = _int_literal(node.left), _int_literal(node.right)
        if left is None or right is None:
            return None
        if isinstance(node, nodes.Mul):
            return left * right if abs(left) < _HUGE and abs(right) < _HUGE else _HUGE
        if right < 0:
            return None
        return left**right if max(abs(left).bit_length(), 1) * right <= 64 else _HUGE
    return None


def _range_length(node: nodes.Node) -> int | None:
    """Return the length of ``range(<integer literals>)`` (or None if it is not one)."""
    if not (
        isinstance(node, nodes.Call)
        and isinstance(node.node, nodes.Name)
        and node.node.name == "range"
        and node.args
        and not node.kwargs
    ):
        return None
    values = [_int_literal(a) for a in node.args]
    if len(values) > 3 or values[2:3] == [0]:
        return None
    numbers = [v for v in values if v is not None]
    return len(range(*numbers)) if len(numbers) == len(values) else None


def _loop_length(node: nodes.For) -> int | None:
    items = node.iter
    if isinstance(items, nodes.Call) and isinstance(items.node, nodes.ImportedName):
        items = items.args[0]  # the parsed tree routes every loop through iterate()
    return _range_length(items)


def check_static_limits(tree: nodes.Template, limits: TemplateLimits) -> tuple[int, str] | None:
    """Return the line and why the source of a template is over a limit (None if not seen).

    Finds ``range`` and nested ``range`` loops of literals over the loop limit, and
    repetitions, printf widths and filter widths given as literals over the output limit.
    """
    loops = f"over the limit of {limits.max_loop_iterations} ({LOOP_SETTING})"
    chars = f"over the limit of {limits.max_output_chars} characters ({OUTPUT_SETTING})"
    for call in tree.find_all(nodes.Call):
        length = _range_length(call)
        if length is not None and length > limits.max_loop_iterations:
            return call.lineno, f"range() of {length} items is {loops}"
    line, product = _nested_product(tree)
    if product > limits.max_loop_iterations:
        return line, f"nested loops of {product} iterations are {loops}"
    for mul in tree.find_all(nodes.Mul):
        size = _repetition_size(mul)
        if size > min(limits.max_output_chars, MAX_ITEMS):
            return mul.lineno, f"a repetition of {size} items is over the limit"
    for const in tree.find_all(nodes.Const):
        if isinstance(const.value, str) and "%" in const.value:
            widths = sum(
                literal_number(w)
                for m in PRINTF.finditer(const.value)
                for w in m.groups()[:2]
                if w and w != "*"
            )
            if widths > limits.max_output_chars:
                return const.lineno, f"a format width of {widths} characters is {chars}"
    for flt in tree.find_all(nodes.Filter):
        width = (
            _int_literal(flt.args[0])
            if flt.args and flt.name in ("center", "indent", "wordwrap", "batch")
            else None
        )
        if width is not None and width > limits.max_output_chars:
            return flt.lineno, f"{flt.name}({width}) is {chars}"
    return None


def _repetition_size(mul: nodes.Mul) -> int:
    """Return the size of ``'text' * n`` or ``[...] * n`` of literals (0 if not one)."""
    for seq, times in ((mul.left, mul.right), (mul.right, mul.left)):
        count = _int_literal(times)
        if count is None:
            continue
        if isinstance(seq, nodes.List | nodes.Tuple):
            return len(seq.items) * count
        if isinstance(_const(seq), str):
            return len(_const(seq)) * count
    return 0


def _nested_product(tree: nodes.Node) -> tuple[int, int]:
    """Return the line and iterations of the ``range`` loop (of literals) nested deepest."""
    most, line = 1, 1
    stack: list[tuple[nodes.Node, int]] = [(tree, 1)]
    while stack:
        node, factor = stack.pop()
        if isinstance(node, nodes.For):
            factor *= _loop_length(node) or 1
            if factor > most:
                most, line = factor, node.lineno
        stack.extend((child, factor) for child in node.iter_child_nodes())
    return line, most
