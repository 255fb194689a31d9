"""Prompt templates: inferred and declared variables, checked values, and the sandbox."""

from __future__ import annotations

import os
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from windlass.entities import PromptVariable
from windlass.exceptions import InvalidInput, TemplateError
from windlass.genai.prompts import templates


def _render(source: Any, declared: dict[str, Any] | None = None, **values: Any) -> Any:
    checked = templates.check_template(source)
    return templates.render(checked, templates.resolve_variables(checked, declared), values)


# -- variables --------------------------------------------------------------------------
def test_variables_are_inferred_from_every_message() -> None:
    messages = [
        {"role": "system", "content": "You answer for {{ product }}."},
        {
            "role": "user",
            "content": "{% for q in questions %}{{ q }}{% endfor %}{% set local = 1 %}{{ local }}",
        },
    ]
    assert templates.template_variables(templates.check_template(messages)) == {
        "product",
        "questions",
    }
    # Jinja's own globals (range, dict, namespace...) are not variables.
    assert templates.template_variables("{% for i in range(n) %}{{ i }}{% endfor %}") == {"n"}


def test_render_text_and_chat() -> None:
    assert _render("Hello {{ name }}!\n", name="Ada") == "Hello Ada!\n"
    rendered = _render(
        [
            {"role": "system", "content": "For {{ product }}."},
            {"role": "user", "content": "{{ question }}"},
        ],
        product="Acme",
        question="Why?",
    )
    assert rendered == [
        {"role": "system", "content": "For Acme."},
        {"role": "user", "content": "Why?"},
    ]


def test_autoescape_is_off() -> None:
    assert _render("{{ text }}", text="<b>a & b</b>") == "<b>a & b</b>"


def test_missing_variable_is_named() -> None:
    with pytest.raises(TemplateError) as info:
        _render("{{ a }} and {{ b }}", a=1)
    assert info.value.message == "missing variable 'b'"
    assert info.value.details["variable"] == "b"


def test_unknown_variable_is_named() -> None:
    with pytest.raises(TemplateError) as info:
        _render("{{ a }}", a=1, typo=2)
    assert "unknown variable 'typo'" in info.value.message
    assert info.value.details["variable"] == "typo"


@pytest.mark.parametrize(
    ("kind", "good", "bad"),
    [
        ("str", "x", 1),
        ("int", 3, 3.5),
        ("int", 3, True),
        ("float", 2, "2.0"),
        ("float", 2.5, False),
        ("bool", True, 1),
        ("list", [1], "abc"),
        ("list", (1, 2), {}),
        ("dict", {"a": 1}, [("a", 1)]),
    ],
)
def test_wrongly_typed_variable_is_named(kind: str, good: Any, bad: Any) -> None:
    declared = {"v": kind}
    _render("{{ v }}", declared, v=good)
    with pytest.raises(TemplateError) as info:
        _render("{{ v }}", declared, v=bad)
    assert f"variable 'v' must be of type {kind}" in info.value.message
    assert info.value.details["variable"] == "v"


def test_defaults_and_optional_variables() -> None:
    source = "{{ greeting }}, {{ name }}{% if title is defined %} ({{ title }}){% endif %}"
    declared = {"greeting": {"type": "str", "default": "Hello"}, "title": {"required": False}}
    assert _render(source, declared, name="Ada") == "Hello, Ada"
    assert _render(source, declared, name="Ada", greeting="Hi", title="Dr") == "Hi, Ada (Dr)"
    resolved = templates.resolve_variables(source, declared)
    assert resolved == {
        "greeting": PromptVariable("greeting", "str", False, "Hello", True),
        "name": PromptVariable("name"),
        "title": PromptVariable("title", required=False),
    }
    assert list(resolved) == ["greeting", "name", "title"]


def test_an_optional_variable_used_unguarded_fails_naming_it() -> None:
    with pytest.raises(TemplateError) as info:
        _render("{{ title }}", {"title": {"required": False}})
    assert "'title' is undefined" in info.value.message


@pytest.mark.parametrize(
    ("declared", "problem"),
    [
        ({"x": "text"}, "type 'text'"),
        ({"x": {"type": "int", "default": "five"}}, "default 'five' is not of type int"),
        ({"x": {"type": "int", "default": 5, "required": True}}, "cannot be required"),
        ({"x": {"kind": "int"}}, "unknown key(s) 'kind'"),
        ({"x": 5}, "declare it with a type name"),
        ({"unused": "int"}, "'unused' is declared but the template does not use it"),
    ],
)
def test_bad_declarations_are_named(declared: dict[str, Any], problem: str) -> None:
    with pytest.raises(InvalidInput) as info:
        templates.resolve_variables("{{ x }}", declared)
    assert problem in info.value.message


def test_a_plain_declaration_of_an_unused_variable_is_dropped() -> None:
    assert templates.resolve_variables("{{ x }}", {"gone": {"type": "any"}}) == {
        "x": PromptVariable("x")
    }


# -- structure and syntax ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ([], "needs a template"),
        ({"role": "user", "content": "x"}, "needs a template"),
        ([{"role": "robot", "content": "x"}], "message 1 has role 'robot'"),
        ([{"role": "user"}], "message 1 needs both"),
        ([{"role": "user", "content": "x", "name": "n"}], "unknown key(s) 'name'"),
        ([{"role": "user", "content": 3}], "content of message 1 must be a string"),
        ("a\x00b", "NUL"),
        (5, "needs a template"),
    ],
)
def test_bad_template_structure_is_named(template: Any, problem: str) -> None:
    with pytest.raises(InvalidInput) as info:
        templates.check_template(template)
    assert problem in info.value.message


def test_syntax_error_names_the_message_and_line() -> None:
    with pytest.raises(TemplateError) as info:
        templates.template_variables(
            templates.check_template(
                [
                    {"role": "system", "content": "fine"},
                    {"role": "user", "content": "line one\nline two {{ question }\nthree"},
                ]
            )
        )
    message = info.value.message
    assert message.startswith("message 2 (user), line 2: template syntax error")
    assert info.value.details["line"] == 2
    with pytest.raises(TemplateError) as info:
        templates.template_variables("a\n{% if x %}never closed")
    assert "the template, line 2" in info.value.message
    with pytest.raises(TemplateError) as info:
        templates.template_variables("ok\n\n{{ x | no_such_filter }}")
    assert "line 3" in info.value.message and "no_such_filter" in info.value.message


def test_runtime_errors_name_the_line() -> None:
    with pytest.raises(TemplateError) as info:
        _render("one\ntwo\n{{ 10 / n }}", n=0)
    assert "the template, line 3: rendering failed: ZeroDivisionError" in info.value.message
    with pytest.raises(TemplateError) as info:
        _render("one\n{{ user.email }}", user={"name": "ada"})
    assert "line 2" in info.value.message and "email" in info.value.message


# -- the sandbox ------------------------------------------------------------------------
CANARY = "windlass-sandbox-canary"

# Known escapes: each is refused when the template is checked, before it could be stored.
STATIC_ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('touch " + CANARY + "').read() }}",
    "{{ joiner.__init__.__globals__.os.system('touch " + CANARY + "') }}",
    "{{ self._TemplateReference__context }}",
    "{{ self.__init__.__globals__.__builtins__ }}",
    "{{ lipsum.__globals__ }}",
    "{{ namespace.__init__.__globals__['os'] }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ ()|attr('__class__') }}",
    "{{ x['__class__'] }}",
    "{{ request.application.__globals__.__builtins__.__import__('os') }}",
    "{{ config.__class__.__init__.__globals__['os'].popen('id').read() }}",
    "{{ x.__dict__ }}",
    "{% include '/etc/passwd' %}",
    "{% import 'os' as os %}",
    "{% extends 'base.html' %}",
    "{% from 'x' import y %}",
]


@pytest.mark.parametrize("source", STATIC_ESCAPES)
def test_known_escapes_are_refused_before_storing(
    source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TemplateError) as info:
        templates.template_variables(source)
    assert "not allowed in a prompt template" in info.value.message
    assert "line 1" in info.value.message
    assert not os.path.exists(CANARY)


# What a check cannot see: the sandbox refuses it while rendering.
RUNTIME_ESCAPES = [
    ("{{ '{0.__class__}'.format(x) }}", {"x": 1}),
    ("{{ '{0.__class__.__mro__}'.format(x) }}", {"x": "s"}),
    ("{{ '{x.__init__.__globals__}'.format_map({'x': x}) }}", {"x": 1}),
    ("{{ x|attr(name) }}", {"x": 1, "name": "__class__"}),
    ("{{ x[name] }}", {"x": 1, "name": "__class__"}),
]


@pytest.mark.parametrize(("source", "values"), RUNTIME_ESCAPES)
def test_escapes_only_visible_at_render_time_are_refused(
    source: str, values: dict[str, Any]
) -> None:
    with pytest.raises(TemplateError) as info:
        _render(source, **values)
    assert info.value.message.startswith("the template, line 1: refused by the sandbox")
    assert "is unsafe" in info.value.message


def test_config_and_request_are_just_variables() -> None:
    # Flask exposes these to templates; here they are variables the caller must give.
    checked = templates.check_template("{{ config }} {{ request }}")
    assert templates.template_variables(checked) == {"config", "request"}
    with pytest.raises(TemplateError) as info:
        _render(checked)
    assert "missing variable 'config'" in info.value.message
    assert _render(checked, config="c", request="r") == "c r"


def test_immutable_sandbox_refuses_mutation() -> None:
    with pytest.raises(TemplateError) as info:
        _render("{% set _ = items.append(4) %}{{ items }}", items=[1, 2, 3])
    assert "sandbox" in info.value.message


@pytest.mark.parametrize(
    "source",
    [
        "{{ 'x' * 10000000 }}",
        "{{ [1] * 10000000 }}",
        "{{ 10 ** 1000000 }}",
        "{{ (2 ** 64) ** 100000 }}",
    ],
)
def test_huge_results_are_refused(source: str) -> None:
    with pytest.raises(TemplateError) as info:
        _render(source)
    assert "over the limit" in info.value.message


def test_range_is_capped() -> None:
    with pytest.raises(TemplateError) as info:
        _render("{% for i in range(10000000) %}{% endfor %}")
    assert "range" in info.value.message.lower()


# -- resource limits ----------------------------------------------------------------------
# Each probe builds (or loops) without bound on Jinja2's own sandbox. Its sizes come from
# variables, so only rendering can see them; each must fail fast and in bounded memory.
NESTED = (
    "{% set ns = namespace(s='ab') %}{% for i in range(60) %}"
    "{% set ns.s = [ns.s, ns.s] %}{% endfor %}"
)
STRING_PROBES = [
    "{{ 'x'|center(n) }}",
    "{{ 'x'|indent(n) }}",
    "{{ text|indent(100) }}",
    "{{ '%*d'|format(n, 1) }}",
    "{{ '%*d' % (n, 1) }}",
    "{{ fmt|format(1) }}",
    "{{ fmt % 1 }}",
    "{{ text|wordwrap(1, wrapstring=wrap) }}",
    "{{ 'a' * n }}",
    "{{ [1] * n }}",
    "{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}{{ ns.s|length }}",
    "{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s + ns.s %}"
    "{% endfor %}{{ ns.s|length }}",
    "{% set ns = namespace(n=3) %}{% for i in range(60) %}{% set ns.n = ns.n * ns.n %}"
    "{% endfor %}{{ ns.n > 0 }}",
    NESTED + "{{ ns.s }}",
    NESTED + "{{ ns.s|tojson }}",
    NESTED + "{{ ns.s|join }}",
    NESTED + "{{ '{}'.format(ns.s) }}",
    "{{ items|join(wrap * 1000) }}",
    "{{ 'x'.ljust(n) }}",
    "{{ '{:{}}'.format(1, n) }}",
    "{{ big ~ big }}",
    "{{ big|replace('a', wrap) }}",
    "{{ wrap.join([big, big]) }}",
    "{{ [1]|batch(n, 'x')|list }}",
    "{{ [1]|slice(n)|list }}",
    "{{ ([items] * 100000)|sum(start=[]) }}",
    "{% set x %}{% for i in items %}{{ big }}{% endfor %}{% endset %}{{ x|length }}",
    "{% for i in range(100000) %}{% set y = big|upper %}{% endfor %}",
    "{% for i in items %}{{ big }}{% endfor %}",
    "{% for i in range(100000) %}{{ big[1:]|length }}{% endfor %}",
    "{% for i in range(100000) %}{{ -1 in numbers }}{% endfor %}",
    "{% for i in range(100000) %}{{ numbers|sort|first }}{% endfor %}",
    "{{ big|wordwrap(10) }}",
    "{{ big|urlize }}",
    "{{ [fmt]|format(1) }}",
    "{{ ([{'x': numbers}] * 2000)|sum(attribute='x', start=[]) }}",
]
LOOP_PROBES = [
    "{{ range(n)|list }}",
    "{% for i in range(n) %}{% endfor %}",
    "{% for a in items %}{% for b in items %}{% for c in items %}{% endfor %}{% endfor %}"
    "{% endfor %}",
    "{% for a in items recursive %}{{ loop(items) }}{% endfor %}",
    "{% macro f(k) %}{% if k > 0 %}{{ f(k - 1) }}{{ f(k - 1) }}{% endif %}{% endmacro %}"
    "{{ f(40) }}",
]
VALUES: dict[str, Any] = {
    "n": 999_999_999,
    "items": list(range(100)),
    "big": "a" * 900_000,
    "text": "ab\n" * 300_000,
    "wrap": "x" * 1000,
    "fmt": "%999999999s",
    "numbers": list(range(1_000_000)),
}


def _probe(source: str) -> TemplateError:
    checked = templates.check_template(source)
    variables = templates.resolve_variables(checked, None)
    with pytest.raises(TemplateError) as info:
        templates.render(checked, variables, {name: VALUES[name] for name in variables})
    return info.value


@pytest.mark.parametrize("source", STRING_PROBES + LOOP_PROBES)
def test_unbounded_templates_fail_fast(source: str) -> None:
    started = time.perf_counter()
    error = _probe(source)
    assert time.perf_counter() - started < 2, source
    assert "limit" in error.message or "recursion" in error.message, error.message


@pytest.mark.parametrize("source", STRING_PROBES)
def test_unbounded_templates_stay_in_bounded_memory(source: str) -> None:
    tracemalloc.start()
    try:
        _probe(source)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # No string over the 1M-character limit is built (the inputs are made before tracing).
    assert peak < 24_000_000, (source, peak)


STATIC_PROBES = [
    "{{ range(10**9) }}",
    "{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}",
    "{{ 'a' * 10**9 }}",
    "{{ [1] * 10**9 }}",
    "{{ '%999999999s'|format(1) }}",
    "{{ '%999999999s' % 1 }}",
    "{{ 'x'|center(999999999) }}",
    "{{ x|indent(10**9) }}",
]


@pytest.mark.parametrize("source", STATIC_PROBES)
def test_limits_visible_in_the_source_are_refused_before_storing(source: str) -> None:
    started = time.perf_counter()
    with pytest.raises(TemplateError) as info:
        templates.template_variables(source)
    assert time.perf_counter() - started < 2
    assert "over the limit" in info.value.message
    assert info.value.message.startswith("the template, line 1: ")


def test_limits_follow_their_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _render("{{ 'x' * n }}", n=1000) == "x" * 1000
    assert _render("{% for i in items %}.{% endfor %}", items=list(range(1000))) == "." * 1000
    monkeypatch.setenv("WINDLASS_TEMPLATE_MAX_OUTPUT_CHARS", "100")
    monkeypatch.setenv("WINDLASS_TEMPLATE_MAX_LOOP_ITERATIONS", "50")
    assert _render("{{ 'x' * n }}", n=100) == "x" * 100
    with pytest.raises(TemplateError, match=r"WINDLASS_TEMPLATE_MAX_OUTPUT_CHARS"):
        _render("{{ 'x' * n }}", n=101)
    with pytest.raises(TemplateError, match=r"rendered text is over the limit of 100"):
        _render("{% for i in items %}{{ t }}{% endfor %}", items=list(range(40)), t="abc")
    assert _render("{% for i in items %}.{% endfor %}", items=list(range(50))) == "." * 50
    with pytest.raises(
        TemplateError,
        match=r"limit of 50 loop iterations \("
        r"WINDLASS_TEMPLATE_MAX_LOOP_ITERATIONS",
    ):
        _render("{% for i in items %}{% endfor %}", items=list(range(51)))
    with pytest.raises(TemplateError, match=r"nested loops of 100 iterations"):
        templates.template_variables(
            "{% for a in range(10) %}{% for b in range(10) %}{% endfor %}{% endfor %}"
        )


def test_chat_messages_share_one_output_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WINDLASS_TEMPLATE_MAX_OUTPUT_CHARS", "100")
    messages = [{"role": "system", "content": "{{ a }}"}, {"role": "user", "content": "{{ b }}"}]
    assert _render(messages, a="x" * 50, b="y" * 50)[1]["content"] == "y" * 50
    with pytest.raises(TemplateError) as info:
        _render(messages, a="x" * 60, b="y" * 60)
    assert info.value.message.startswith(
        "message 2 (user): refused by the sandbox: the rendered text is over the limit"
    )


def test_ordinary_templates_render_under_the_limits() -> None:
    source = (
        "{% macro item(x) %}- {{ x.name|title }}: {{ '%5.1f'|format(x.score) }}"
        "{% endmacro %}{% for x in rows %}{{ item(x) }}\n{% endfor %}"
        "{{ rows|map(attribute='name')|join(', ')|center(40)|trim }} "
        "{{ ('a' ~ 'b') * 2 }} {{ '{:>6}'.format(total) }} {{ names|wordwrap(10) }}"
        "{{ 2 in [1, 2] }}{{ 3 not in [1] }}{{ names[:2] }}{{ rows|map(attribute='score')"
        "|select('>', 0)|list|length }}"
    )
    rows = [{"name": f"n{i}", "score": i / 3} for i in range(3)]
    assert _render(source, rows=rows, total=7, names="ab cd ef gh") == (
        "- N0:   0.0\n- N1:   0.3\n- N2:   0.7\nn0, n1, n2 abab      7 ab cd ef\nghTrueTrueab2"
    )
