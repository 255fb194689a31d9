"""Built-in CLI commands, registered through the same hook as third-party commands."""

from __future__ import annotations

from collections.abc import Callable

from windlass.plugins import hookimpl


@hookimpl
def register_commands(register: Callable[..., None]) -> None:
    """Register the built-in command groups and commands."""
    from windlass.cli.commands import (
        access,
        artifacts,
        audit,
        build,
        demo,
        deployments,
        governance,
        login,
        models,
        projects,
        prompts,
        runs,
        serve,
        server,
        traces,
        ui,
    )

    register("server", server.server)
    register("demo", demo.demo)
    register("projects", projects.app)
    register("runs", runs.app)
    register("artifacts", artifacts.app)
    register("models", models.app)
    register("deployments", deployments.app)
    register("traces", traces.app)
    register("prompts", prompts.app)
    register("audit", audit.app)
    register("build", build.app)
    register("serve", serve.serve)
    register("users", access.users_app)
    register("tokens", access.tokens_app)
    register("members", access.members_app)
    register("whoami", access.whoami)
    register("login", login.login)
    register("aliases", governance.aliases_app)
    register("ui", ui.ui)
