"""Server start-up with the cyclic garbage collector paused.

Starting a server builds a few hundred thousand objects that live as long as it does:
modules, classes, pydantic models, routes. With the collector on, each of the ~300
collections it runs meanwhile walks the growing heap again: about a fifth of the time from
spawn to the first answer. None of it is garbage worth collecting, so ``windlass server``
and ``windlass serve`` pause the collector while they import and build, then
:func:`resume_collector` freezes what was built (``gc.freeze``: out of the collector's
sight for good, as each app's lifespan also does) and turns the collector back on.

Only process entry points call these (the CLI, which also registers its commands this way,
and uvicorn's app factories), never a library function: code that builds an app in a
longer-lived process (tests, an embedding application) keeps its collector as it was.
"""

from __future__ import annotations

import gc

__all__ = ["pause_collector", "resume_collector"]


def pause_collector() -> None:
    """Turn the cyclic garbage collector off for a start-up (see the module docstring)."""
    gc.disable()


def resume_collector() -> None:
    """Freeze every object allocated so far, then turn the cyclic garbage collector on."""
    gc.freeze()
    gc.enable()
