"""The output folder of a build: refused when not empty, written through a staging folder.

Everything is written into a hidden staging folder next to the destination and moved into
place at the end, so a failed build (a model that does not verify, a wheel that does not
build) leaves the destination as it was. With ``force`` only the entries the build writes
are replaced; other files in the folder are left alone (never a recursive delete of a
folder the user named).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from windlass.exceptions import AlreadyExists, InvalidInput


def check_output_dir(out: Path, *, force: bool) -> None:
    """Refuse ``out`` if it is a file, or a non-empty folder without ``force``."""
    if out.exists() and not out.is_dir():
        raise InvalidInput(f"{out} exists and is not a folder", path=str(out))
    if out.is_dir() and any(out.iterdir()) and not force:
        raise AlreadyExists(
            f"{out} is not empty; choose a new folder or pass --force to "
            "replace the files the build writes",
            path=str(out),
        )


@contextmanager
def staged_output(out: Path, *, force: bool) -> Iterator[Path]:
    """Yield a staging folder; on success move what it holds into ``out``.

    On an error the staging folder is removed and ``out`` is not touched.
    """
    check_output_dir(out, force=force)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the result is an ordinary folder
    try:
        yield staging
        _publish(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _publish(staging: Path, out: Path) -> None:
    if not out.exists():
        staging.rename(out)
        staging.mkdir()  # so the caller's cleanup finds what it expects
        return
    for entry in sorted(staging.iterdir()):
        target = out / entry.name
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.is_dir():
            shutil.rmtree(target)
        entry.rename(target)
