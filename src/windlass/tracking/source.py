"""What a run records about the code and machine that ran it."""

from __future__ import annotations

import functools
import getpass
import os
import platform
import shlex
import socket
import subprocess
import sys
from pathlib import Path

from windlass.entities import RunSource


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(  # noqa: S603 - fixed git arguments, no shell
            ["git", *args],  # noqa: S607 - git is found on PATH like any developer tool
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def code_directory() -> Path:
    """Return the folder of the running program (its main script's, else the cwd)."""
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    return Path(main).resolve().parent if main else Path.cwd()


def git_state(where: Path | None = None) -> tuple[str | None, bool | None]:
    """Return the git commit of the code and whether the work tree has changes.

    Asked once per folder per process: the code a process runs does not change under it,
    and two ``git`` calls per run would dominate a quick run's start.
    """
    return _git_state(where or code_directory())


@functools.lru_cache(maxsize=8)
def _git_state(where: Path) -> tuple[str | None, bool | None]:
    commit = _git(["rev-parse", "HEAD"], where)
    if commit is None:
        return None, None
    status = _git(["status", "--porcelain", "--untracked-files=no"], where)
    return commit, bool(status)


def current_user() -> str:
    """Return the login name of the user running this process."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


@functools.lru_cache(maxsize=1)
def _system_info() -> dict[str, object]:
    info: dict[str, object] = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
    }
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        info["memory_bytes"] = pages * page_size
    except (ValueError, OSError, AttributeError):
        pass
    return info


def system_info() -> dict[str, object]:
    """Return the Python version, platform, CPU count and memory of this machine."""
    return dict(_system_info())


def collect_source() -> RunSource:
    """Return a :class:`RunSource` describing this process's code and machine.

    ``user`` is left empty: the tracking service records its principal's name there.
    """
    commit, dirty = git_state()
    return RunSource(
        git_commit=commit,
        git_dirty=dirty,
        command=shlex.join([sys.executable, *sys.argv]),
        system=system_info(),
        host=socket.gethostname(),
        pid=os.getpid(),
    )


def process_alive(pid: int) -> bool:
    """Tell whether a process with this id runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
