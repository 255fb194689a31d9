"""Prompt files: one YAML file per prompt, for review in git and shipping by CI.

``<folder>/<name>.yaml`` holds the template (``template:`` for a text prompt,
``messages:`` for a chat prompt), ``model``, ``response_format`` and the declared
``variables``, under a comment header naming the version and content hash it was
written from::

    # windlass prompt support-answer, version 4
    # content hash: 5c1f...
    name: support-answer
    messages:
    - role: system
      content: You answer for {{ product }}.
    model:
      name: gpt-4o-mini
      temperature: 0.2
    response_format: null
    variables:
      product: {type: str, required: true}

Variables the template uses without a declaration are inferred again when the file is
read, so only declarations that say something (a type, a default, optional) are written.
Multi-line texts are written as literal blocks, so a diff of the file reads like a diff
of the prompt. A file that does not parse, or holds what a prompt cannot, is an error
naming the file and (for YAML errors) the line.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from windlass.entities import PromptVariable, PromptVersion
from windlass.exceptions import InvalidInput, WindlassError
from windlass.genai.prompts.registry import PromptContent, prompt_content
from windlass.uris import check_name

#: The keys a prompt file may have.
FILE_KEYS = ("name", "template", "messages", "model", "response_format", "variables")
#: The most bytes one prompt file may have.
MAX_FILE_BYTES = 4 * 1024 * 1024


class _Dumper(yaml.SafeDumper):
    """Safe YAML whose multi-line strings are literal blocks."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


class _Loader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice in one mapping (YAML keeps the last)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node)  # type: ignore[no-untyped-call]
        try:
            duplicate = key in seen
        except TypeError:  # an unhashable key: let the constructor report it
            break
        if duplicate:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping",
                node.start_mark,
                f"found the key {key!r} twice",
                key_node.start_mark,
            )
        seen.add(key)
    return loader.construct_mapping(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _declaration(variable: PromptVariable) -> dict[str, Any] | None:
    """Return what a file must say about a variable (None: inference says it all)."""
    if variable == PromptVariable(variable.name):
        return None
    return variable.to_dict()


def render_prompt_file(version: PromptVersion) -> str:
    """Return the YAML text of a version's prompt file."""
    body: dict[str, Any] = {"name": version.name}
    if isinstance(version.template, str):
        body["template"] = version.template
    else:
        body["messages"] = [{"role": m["role"], "content": m["content"]} for m in version.template]
    body["model"] = dict(version.model)
    body["response_format"] = version.response_format
    declared = {
        name: d for name, v in version.variables.items() if (d := _declaration(v)) is not None
    }
    if declared:
        body["variables"] = declared
    header = (
        f"# windlass prompt {version.name}, version {version.version}\n"
        f"# content hash: {version.content_hash}\n"
        "# Edit this file, then `windlass prompts push <folder>` registers it as a new "
        "version.\n"
    )
    text: str = yaml.dump(
        body,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100_000,
    )
    return header + text


def write_prompt_file(version: PromptVersion, folder: Path) -> Path:
    """Write ``<folder>/<name>.yaml`` atomically (creating the folder); return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{version.name}.yaml"
    handle, temporary = tempfile.mkstemp(prefix=f".{version.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(render_prompt_file(version))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _in_file(path: Path, error: WindlassError) -> WindlassError:
    """Return the same error, its message naming the file."""
    return type(error)(f"{path}: {error.message}", **{**error.details, "file": str(path)})


def read_prompt_file(path: Path) -> tuple[str, PromptContent]:
    """Return the prompt name and checked content of one prompt file.

    Raises InvalidInput naming the file (and the line of a YAML error).
    """
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InvalidInput(
                f"{path}: the file has {size} bytes; the limit is {MAX_FILE_BYTES}", file=str(path)
            )
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})", file=str(path)
        ) from None
    except OSError as exc:
        raise InvalidInput(
            f"{path}: cannot read the file: {exc.strerror}", file=str(path)
        ) from None
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = None if mark is None else mark.line + 1
        where = f"line {line}" if line is not None else "somewhere"
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise InvalidInput(
            f"{path}, {where}: not valid YAML: {problem}", file=str(path), line=line
        ) from None
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{path}: not valid YAML: {exc}", file=str(path)) from None
    if not isinstance(data, dict):
        raise InvalidInput(
            f"{path}: a prompt file is a mapping with template or messages, "
            "model, response_format and variables",
            file=str(path),
        )
    unknown = sorted(str(k) for k in data if k not in FILE_KEYS)
    if unknown:
        raise InvalidInput(
            f"{path}: unknown key(s) {', '.join(map(repr, unknown))}; a prompt "
            f"file has {', '.join(FILE_KEYS)}",
            file=str(path),
        )
    name = data.get("name", path.stem)
    try:
        check_name("prompt name", name)
        if name != path.stem:
            raise InvalidInput(
                f"the file says name: {name!r}, but its name is "
                f"{path.name!r}; rename the file or fix the name"
            )
        content = prompt_content(
            template=data.get("template"),
            messages=data.get("messages"),
            model=data.get("model"),
            response_format=data.get("response_format"),
            variables=data.get("variables"),
        )
    except InvalidInput as exc:
        raise _in_file(path, exc) from None
    return name, content


def read_prompt_folder(folder: Path) -> list[tuple[Path, str, PromptContent]]:
    """Return ``(path, name, content)`` of every prompt file in ``folder``, by file name.

    Every file is checked before any is returned, so one bad file fails the whole folder.
    """
    if not folder.is_dir():
        raise InvalidInput(f"{folder} is not a folder of prompt files", file=str(folder))
    paths = sorted(
        p
        for p in folder.iterdir()
        if p.suffix in (".yaml", ".yml") and p.is_file() and not p.name.startswith(".")
    )
    found: list[tuple[Path, str, PromptContent]] = []
    names: dict[str, Path] = {}
    for path in paths:
        name, content = read_prompt_file(path)
        if name in names:
            raise InvalidInput(
                f"{path} and {names[name]} both hold prompt {name!r}", file=str(path), prompt=name
            )
        names[name] = path
        found.append((path, name, content))
    return found
