"""Prompt templates: Jinja2 in its immutable sandbox, with declared and checked variables.

A template is one text or a list of chat messages (``{"role", "content"}``) whose
contents are Jinja2 templates. They run in :class:`~jinja2.sandbox.ImmutableSandboxedEnvironment`
with :class:`~jinja2.StrictUndefined` and without autoescaping (a prompt is not HTML):

- a template cannot reach Python internals. Before it is ever stored, a template is
  refused when it reads an attribute whose name starts with ``_`` (``x.__class__``,
  ``self._TemplateReference__context``), an item or ``attr`` filter named ``__…``, or
  uses ``{% include %}``, ``{% import %}`` or ``{% extends %}`` (prompts are
  self-contained). What only shows at render time (``'{0.__class__}'.format(x)``, an
  attribute built from a variable) is stopped by the sandbox and reported the same way;
- a render is bounded in output, in every string and list it builds, and in loop
  iterations (``WINDLASS_TEMPLATE_MAX_OUTPUT_CHARS``, ``WINDLASS_TEMPLATE_MAX_LOOP_ITERATIONS``;
  see :mod:`windlass.genai.prompts.template_limits`); what the source shows to be over a limit is
  refused before the template is stored;
- the variables are the template's undeclared names (:func:`jinja2.meta.find_undeclared_variables`);
  a declaration may give each a type (``str``, ``int``, ``float``, ``bool``, ``list``,
  ``dict``, ``any``), a default, or make it optional. Rendering with a missing, unknown
  or wrongly typed variable raises :class:`~windlass.exceptions.TemplateError` naming it.

Importing this module loads Jinja2.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, cast

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from windlass.entities import VARIABLE_TYPES, PromptVariable, Template, VariableType
from windlass.entities.prompts import MAX_MESSAGES, MAX_TEMPLATE_CHARS
from windlass.exceptions import InvalidInput, TemplateError
from windlass.genai.prompts import template_limits as limits
from windlass.genai.prompts.template_source_limits import check_static_limits

#: The chat roles a message template may have.
ROLES = ("system", "developer", "user", "assistant")
_TEMPLATE_FILE = "<template>"
_TYPE_CHECKS: dict[str, Any] = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "list": lambda v: isinstance(v, list | tuple),
    "dict": lambda v: isinstance(v, Mapping),
    "any": lambda v: True,
}


class _PromptSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox with every resource a template uses bounded (template_limits)."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    #: Joins captured output ({% set %} blocks, macro bodies) only when it fits the limit.
    concat = staticmethod(limits.join_output)

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        """Compute ``left <operator> right`` unless the result would be too large."""
        limits.check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def call(
        __self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any
    ) -> Any:
        """Call ``__obj`` from the template, counting macro calls and bounding text methods."""
        args, kwargs = limits.check_call(__obj, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """Return ``str.format``/``format_map`` sandboxed and bounded (None for others)."""
        return limits.format_method(self, value)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        # Every template this environment compiles gets its loops counted and ``~`` bounded.
        return limits.bound_tree(super()._parse(source, name, filename))


@functools.cache
def environment() -> jinja2.Environment:
    """Return the one sandboxed environment every prompt template runs in."""
    env = _PromptSandbox(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        auto_reload=False,
        finalize=limits.finalize,
    )
    env.globals.pop("lipsum", None)  # no use in a prompt; a known gadget elsewhere
    env.globals["range"] = limits.bounded_range
    env.filters.update(limits.bounded_filters(env.filters))
    return env


# -- structure ---------------------------------------------------------------------------
def _text(where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{where} must be a string, got {type(value).__name__}")
    if "\x00" in value:
        raise InvalidInput(f"{where} contains a NUL character")
    return value


def check_template(template: Any) -> Template:
    """Return the template checked: a string, or a list of ``{role, content}`` messages.

    Raises InvalidInput naming the message and what is wrong with it.
    """
    if isinstance(template, str):
        source = _text("the template", template)
        if len(source) > MAX_TEMPLATE_CHARS:
            raise InvalidInput(
                f"the template has {len(source)} characters; the limit is {MAX_TEMPLATE_CHARS}"
            )
        return source
    if isinstance(template, Mapping) or not isinstance(template, list | tuple) or not template:
        raise InvalidInput(
            "a prompt needs a template (a string) or messages (a non-empty "
            "list of {'role': ..., 'content': ...})"
        )
    if len(template) > MAX_MESSAGES:
        raise InvalidInput(f"a prompt has at most {MAX_MESSAGES} messages, got {len(template)}")
    messages: list[dict[str, str]] = []
    total = 0
    for number, message in enumerate(template, 1):
        where = f"message {number}"
        if not isinstance(message, Mapping):
            raise InvalidInput(
                f"{where} must be a mapping with 'role' and 'content', got "
                f"{type(message).__name__}",
                index=number,
            )
        unknown = sorted(str(k) for k in message if k not in ("role", "content"))
        if unknown:
            raise InvalidInput(
                f"{where} has unknown key(s) {', '.join(map(repr, unknown))}; "
                "a message has 'role' and 'content'",
                index=number,
            )
        if "role" not in message or "content" not in message:
            raise InvalidInput(f"{where} needs both 'role' and 'content'", index=number)
        role = message["role"]
        if role not in ROLES:
            raise InvalidInput(
                f"{where} has role {role!r}; use one of {', '.join(ROLES)}", index=number
            )
        content = _text(f"the content of {where}", message["content"])
        total += len(content)
        messages.append({"role": role, "content": content})
    if total > MAX_TEMPLATE_CHARS:
        raise InvalidInput(
            f"the messages have {total} characters together; the limit is {MAX_TEMPLATE_CHARS}"
        )
    return messages


def _sources(template: Template) -> list[tuple[str, str]]:
    """Return ``(where, source)`` for each text of the template."""
    if isinstance(template, str):
        return [("the template", template)]
    return [(f"message {i} ({m['role']})", m["content"]) for i, m in enumerate(template, 1)]


# -- compiling ---------------------------------------------------------------------------
def _unsafe(where: str, line: int, what: str) -> NoReturn:
    raise TemplateError(
        f"{where}, line {line}: {what} is not allowed in a prompt template "
        "(templates run sandboxed and cannot reach Python internals)",
        where=where,
        line=line,
    )


def _check_safe(where: str, tree: nodes.Template) -> None:
    """Refuse what a sandboxed template has no business doing, before it is ever stored."""
    for node in tree.find_all(
        (
            nodes.Getattr,
            nodes.Getitem,
            nodes.Filter,
            nodes.Extends,
            nodes.Include,
            nodes.Import,
            nodes.FromImport,
        )
    ):
        line = node.lineno
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            _unsafe(
                where,
                line,
                f"reading attribute {node.attr!r} (names starting with '_'"
                "; use x['_key'] for such a dictionary key)",
            )
        elif (
            isinstance(node, nodes.Getitem)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str)
            and node.arg.value.startswith("__")
        ):
            _unsafe(where, line, f"reading item {node.arg.value!r}")
        elif (
            isinstance(node, nodes.Filter)
            and node.name == "attr"
            and node.args
            and isinstance(node.args[0], nodes.Const)
            and str(node.args[0].value).startswith("_")
        ):
            _unsafe(where, line, f"the attr filter on {node.args[0].value!r}")
        elif isinstance(node, nodes.Extends | nodes.Include | nodes.Import | nodes.FromImport):
            tag = {
                nodes.Extends: "extends",
                nodes.Include: "include",
                nodes.Import: "import",
                nodes.FromImport: "from ... import",
            }[type(node)]
            _unsafe(where, line, f"{{% {tag} %}} (a prompt is self-contained)")


def _check_limits(where: str, tree: nodes.Template, bounds: limits.TemplateLimits) -> None:
    """Refuse a template whose source already shows it over a resource limit."""
    found = check_static_limits(tree, bounds)
    if found is not None:
        line, why = found
        raise TemplateError(f"{where}, line {line}: {why}", where=where, line=line)


@functools.lru_cache(maxsize=512)
def _parsed(
    source: str, bounds: limits.TemplateLimits
) -> tuple[jinja2.Template | None, frozenset[str], str, int]:
    """Return (compiled template, its variables, syntax error message, its line)."""
    env = environment()
    try:
        tree = env.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        return None, frozenset(), exc.message or str(exc), exc.lineno
    except RecursionError:
        return None, frozenset(), "the template nests too deeply", 1
    _check_safe("", tree)  # raises before anything is cached for an unsafe template
    _check_limits("", tree, bounds)
    try:
        # Compiling finds what parsing does not: an unknown filter or test, say. It also
        # folds constant expressions (filters of literals), so it spends from a budget too.
        with limits.render_budget(bounds):
            compiled = env.from_string(tree)
        names = frozenset(meta.find_undeclared_variables(tree))
    except jinja2.TemplateSyntaxError as exc:
        return None, frozenset(), exc.message or str(exc), exc.lineno
    except RecursionError:
        return None, frozenset(), "the template nests too deeply", 1
    return compiled, names, "", 0


def compile_source(where: str, source: str) -> tuple[jinja2.Template, frozenset[str]]:
    """Return one text compiled, and its variables; a syntax error names its line."""
    try:
        compiled, names, error, line = _parsed(source, limits.TemplateLimits.from_settings())
    except TemplateError as exc:
        raise TemplateError(
            f"{where}{exc.message}", where=where, line=exc.details.get("line")
        ) from None
    if compiled is None:
        raise TemplateError(
            f"{where}, line {line}: template syntax error: {error}", where=where, line=line
        )
    return compiled, names


def template_variables(template: Template) -> set[str]:
    """Return the names of the variables a checked template uses (compiling every text)."""
    names: set[str] = set()
    for where, source in _sources(template):
        names |= compile_source(where, source)[1]
    return names


# -- variables ---------------------------------------------------------------------------
def _declared(name: str, spec: Any) -> PromptVariable:
    if isinstance(spec, PromptVariable):
        spec = spec.to_dict()
    elif isinstance(spec, str):
        spec = {"type": spec}
    elif spec is None:
        spec = {}
    if not isinstance(spec, Mapping):
        raise InvalidInput(
            f"variable {name!r}: declare it with a type name or a mapping of "
            "type, default, required",
            variable=name,
        )
    unknown = sorted(str(k) for k in spec if k not in ("type", "default", "required"))
    if unknown:
        raise InvalidInput(
            f"variable {name!r} has unknown key(s) "
            f"{', '.join(map(repr, unknown))}; use type, default, required",
            variable=name,
        )
    kind = spec.get("type", "any")
    if kind not in VARIABLE_TYPES:
        raise InvalidInput(
            f"variable {name!r} has type {kind!r}; use one of {', '.join(VARIABLE_TYPES)}",
            variable=name,
        )
    has_default = "default" in spec
    default = spec.get("default")
    required = spec.get("required", not has_default)
    if not isinstance(required, bool):
        raise InvalidInput(f"variable {name!r}: required must be true or false", variable=name)
    if has_default and required:
        raise InvalidInput(
            f"variable {name!r} has a default, so it cannot be required", variable=name
        )
    if has_default and not _TYPE_CHECKS[kind](default):
        raise InvalidInput(
            f"variable {name!r}: the default {default!r} is not of type {kind}", variable=name
        )
    return PromptVariable(
        name=name,
        type=cast(VariableType, kind),
        required=required,
        default=default if has_default else None,
        has_default=has_default,
    )


def resolve_variables(
    template: Template, declared: Mapping[str, Any] | None
) -> dict[str, PromptVariable]:
    """Return every variable of the template, declared ones as declared, sorted by name.

    A variable the template does not use may only be declared as the plain ``any``,
    required default (what inference itself gives; it is dropped); anything more is
    InvalidInput naming it, since its declaration would have no effect.
    """
    used = template_variables(template)
    if declared is not None and not isinstance(declared, Mapping):
        raise InvalidInput("variables must be a mapping of name to declaration")
    result = {name: PromptVariable(name) for name in used}
    for name, spec in (declared or {}).items():
        if not isinstance(name, str):
            raise InvalidInput(f"variable name {name!r} is not a string")
        variable = _declared(name, spec)
        if name not in used:
            if variable == PromptVariable(name):
                continue
            raise InvalidInput(
                f"variable {name!r} is declared but the template does not use "
                f"it (it uses: {', '.join(sorted(used)) or 'none'})",
                variable=name,
            )
        result[name] = variable
    return {name: result[name] for name in sorted(result)}


def check_values(
    variables: Mapping[str, PromptVariable], values: Mapping[str, Any]
) -> dict[str, Any]:
    """Return the values to render with (defaults filled in), or raise TemplateError.

    The error names the first unknown, missing or wrongly typed variable.
    """
    unknown = sorted(set(values) - set(variables))
    if unknown:
        raise TemplateError(
            f"unknown variable {unknown[0]!r}: the template's variables are "
            f"{', '.join(variables) or 'none'}",
            variable=unknown[0],
        )
    context: dict[str, Any] = {}
    for name, variable in variables.items():
        if name in values:
            value = values[name]
            if not _TYPE_CHECKS[variable.type](value):
                raise TemplateError(
                    f"variable {name!r} must be of type {variable.type}, got "
                    f"{type(value).__name__}",
                    variable=name,
                    expected=variable.type,
                    got=type(value).__name__,
                )
            context[name] = value
        elif variable.has_default:
            context[name] = variable.default
        elif variable.required:
            raise TemplateError(f"missing variable {name!r}", variable=name)
    return context


# -- rendering ---------------------------------------------------------------------------
def _template_line(exc: BaseException) -> int | None:
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == _TEMPLATE_FILE:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _render_one(
    where: str, source: str, context: Mapping[str, Any], budget: limits.RenderBudget
) -> str:
    compiled, _names = compile_source(where, source)
    parts: list[str] = []
    try:
        for part in compiled.generate(context):  # streamed, so output stops at its limit
            budget.emit(part)
            parts.append(part)
    except jinja2.exceptions.SecurityError as exc:
        line = _template_line(exc)
        at = where if line is None else f"{where}, line {line}"
        raise TemplateError(
            f"{at}: refused by the sandbox: {exc}", where=where, line=line
        ) from None
    except jinja2.UndefinedError as exc:
        line = _template_line(exc)
        raise TemplateError(
            f"{where}, line {line}: {exc.message}", where=where, line=line
        ) from None
    except Exception as exc:  # a template's own failure: 1/0, a bad filter argument...
        line = _template_line(exc)
        raise TemplateError(
            f"{where}, line {line}: rendering failed: {type(exc).__name__}: {exc}",
            where=where,
            line=line,
        ) from None
    return "".join(parts)


def render(
    template: Template, variables: Mapping[str, PromptVariable], values: Mapping[str, Any]
) -> str | list[dict[str, str]]:
    """Render a checked template: a string, or the chat messages with rendered contents.

    All texts of one render share one budget of output characters and loop iterations.
    """
    context = check_values(variables, values)
    with limits.render_budget(limits.TemplateLimits.from_settings()) as budget:
        if isinstance(template, str):
            return _render_one("the template", template, context, budget)
        return [
            {
                "role": message["role"],
                "content": _render_one(
                    f"message {i} ({message['role']})", message["content"], context, budget
                ),
            }
            for i, message in enumerate(template, 1)
        ]
