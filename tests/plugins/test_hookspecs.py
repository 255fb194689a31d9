"""Every hook is documented: in its spec (when it is called, what it returns) and in docs."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from doc_examples import section
from windlass.plugins import WindlassHooks, plugin_manager
from windlass.plugins.hookspecs import hookspec

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def hook_names() -> list[str]:
    """Return every hook the specification class declares."""
    marker = hookspec.project_name + "_spec"
    return [
        name
        for name, member in vars(WindlassHooks).items()
        if callable(member) and hasattr(member, marker)
    ]


def test_the_manager_knows_every_hook() -> None:
    names = hook_names()
    assert "register_commands" in names and len(names) >= 3
    for name in names:
        assert hasattr(plugin_manager().hook, name)


def test_every_hook_says_when_it_is_called_and_what_it_returns() -> None:
    for name in hook_names():
        doc = inspect.getdoc(getattr(WindlassHooks, name)) or ""
        summary, _sep, body = doc.partition("\n\n")
        assert summary.strip(), f"hook {name} has no docstring"
        assert "register(" in summary, f"hook {name}: the summary shows the register call"
        assert "Called " in body, f"hook {name}: the docstring says when it is called"
        assert re.search(r"\bReturns\b", body), f"hook {name}: the docstring says what it returns"


def test_docs_list_every_hook() -> None:
    hooks_section = section(DOCS.read_text(), "## Hooks")
    listed = re.findall(r"^### `(\w+)`$", hooks_section, re.M)
    names = hook_names()
    assert sorted(set(names) - set(listed)) == [], "hooks missing from docs/plugins.md § Hooks"
    assert sorted(set(listed) - set(names)) == [], "docs/plugins.md lists hooks that do not exist"
    parts = re.split(r"^### `(\w+)`$", hooks_section, flags=re.M)
    described = dict(zip(parts[1::2], parts[2::2], strict=True))
    for name in names:
        summary = (inspect.getdoc(getattr(WindlassHooks, name)) or "").split("\n\n")[0]
        summary = summary.replace("``", "`")  # reST literals are Markdown code spans
        own = described[name]
        assert " ".join(summary.split()) in " ".join(own.split()), (
            f"docs/plugins.md § {name} does not start from the hook's summary line: {summary}"
        )
