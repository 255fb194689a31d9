"""The demo's prompt walkthrough: a prompt, two versions, an alias, a traced call."""

from __future__ import annotations

import os
from collections.abc import Callable

import windlass

PROMPT_PROJECT = "demo-support"
PROMPT = "support-answer"
_SYSTEM = "You answer questions about {{ product }} for its customers."


def llm_endpoint_configured() -> bool:
    """Tell whether an LLM endpoint is configured (a base URL, a key, or provider profiles)."""
    return any(
        os.environ.get(name)
        for name in (
            "WINDLASS_LLM_BASE_URL",
            "WINDLASS_LLM_API_KEY",
            "WINDLASS_LLM_PROVIDERS",
            "OPENAI_API_KEY",
            "OPENAI_BASE_URL",
        )
    )


def register_versions() -> tuple[int, int]:
    """Register two versions of the demo prompt (idempotent); alias production -> newest."""
    windlass.set_project(PROMPT_PROJECT)
    model = {"provider": "openai", "name": "gpt-4o-mini", "temperature": 0.2, "max_tokens": 300}
    first = windlass.prompts.register(
        PROMPT,
        messages=[
            {"role": "system", "content": _SYSTEM},
            {"role": "user", "content": "{{ question }}"},
        ],
        model=model,
        commit_message="first version",
    )
    second = windlass.prompts.register(
        PROMPT,
        messages=[
            {"role": "system", "content": _SYSTEM + " Be brief."},
            {"role": "user", "content": "{{ question }}"},
        ],
        model={**model, "max_tokens": 120},
        commit_message="shorter answers",
    )
    windlass.prompts.set_alias(PROMPT, "production", second.version)
    return first.version, second.version


def walkthrough(log: Callable[[str], None] = print) -> bool:
    """Show prompt versions, a diff and a render; run it traced when an endpoint is set.

    Return whether a model was called.
    """
    first, second = register_versions()
    log(f"prompt {PROMPT}: versions {first} and {second}, alias production -> {second}")
    log(windlass.prompts.diff(PROMPT, first, second))
    production = windlass.prompts.load(f"{PROMPT}@production")
    log(f"rendered: {production.render(product='Acme', question='Where is my order?')}")
    if not llm_endpoint_configured():
        log(
            "no LLM endpoint configured, so no call was made. Point windlass at one and run "
            "the demo again: WINDLASS_LLM_API_KEY=sk-... for OpenAI, or "
            "WINDLASS_LLM_BASE_URL=http://127.0.0.1:11434/v1 for a local Ollama or vLLM "
            '(any OpenAI-compatible endpoint; docs/tracing.md, "Running the LLM examples '
            'without an API key", shows how)'
        )
        return False
    reply = production.run(product="Acme", question="Where is my order?", session_id="demo-session")
    windlass.flush_traces()
    log(
        f"the model answered: {reply.text!r} ({reply.usage.input_tokens if reply.usage else '?'}"
        f" input tokens, cost {reply.cost if reply.cost is not None else 'unknown'})"
    )
    stats = windlass.trace_stats()
    log(
        f"traces in {PROMPT_PROJECT}: {stats.count}, tokens {stats.total_tokens}; try: "
        f"windlass traces ls -p {PROMPT_PROJECT}"
    )
    return True
