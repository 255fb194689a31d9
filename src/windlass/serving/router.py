"""Which loaded model answers a request: variants by weight, sticky by key, plus a shadow.

A :class:`Router` serves a *plan*: variants (name, model URI, weight) and an optional
shadow. The plan of a single model is one variant; the plan of a deployment comes from the
registry. Every ``WINDLASS_SERVE_POLL_SECONDS`` the router re-reads the plan and
re-resolves aliases; a variant whose files changed is loaded in the background and swapped
in atomically, so weight changes and alias moves reach a running server without a restart.

At every poll the router also checks that what it serves still exists: a model version
deleted from the registry (or an alias or deployment removed), or files gone from the
artifact store, make the server *unavailable*: readiness answers 503 (so a load balancer
stops sending traffic) and one line says why; the loaded model keeps answering whoever
still asks. A failure to poll at all (the store unreachable) is logged once, not per poll.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from windlass.entities import Variant
from windlass.exceptions import NotFound, WindlassError
from windlass.serving.deployments import TrafficSplit
from windlass.serving.metrics import ServerMetrics
from windlass.serving.source import ServedModel, is_pinned, load, resolve

logger = logging.getLogger("windlass.serving")


@dataclass(frozen=True)
class Plan:
    """What to serve: variants sharing traffic, an optional shadow, and a revision tag."""

    variants: tuple[Variant, ...]
    shadow: Variant | None = None
    revision: str = ""


class Router:
    """Serve a plan: load its variants, route requests, follow changes."""

    def __init__(
        self,
        read_plan: Callable[[], Plan],
        *,
        trust: bool = False,
        batching: dict[str, Any] | None = None,
        metrics: ServerMetrics | None = None,
        poll_seconds: float = 5.0,
    ) -> None:
        self.read_plan = read_plan
        self.trust = trust
        self.batching = batching or {}
        self.metrics = metrics or ServerMetrics()
        self.poll_seconds = poll_seconds
        self.variants: dict[str, ServedModel] = {}
        self.shadow: ServedModel | None = None
        self.split: TrafficSplit | None = None
        self._state: tuple[Any, ...] = ()
        self._primary = ""
        self._retired: list[ServedModel] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        #: Why a served model can no longer be loaded ("" while all can).
        self.unavailable = ""
        self._poll_error = ""

    @property
    def ready(self) -> bool:
        """Tell whether every variant is loaded and still exists where it was loaded from."""
        return self.split is not None and not self.unavailable

    def check_available(self) -> str:
        """Return why a served model could not be loaded again now ("" if all could)."""
        for served in self.all_served():
            problem = served.problem()
            if problem is not None:
                return f"variant {served.variant}: {problem}"
        return ""

    def poll_once(self) -> bool:
        """Refresh and check availability (blocking); return whether the plan changed.

        Updates :attr:`unavailable`, logging one line when it changes; a failure to poll
        is logged once per distinct error and leaves readiness as it was.
        """
        try:
            changed = self.refresh()
            problem = self.check_available()
        except NotFound as exc:  # an alias or deployment removed under the server
            changed, problem = False, exc.message
        except Exception as exc:
            message = exc.message if isinstance(exc, WindlassError) else repr(exc)
            if message != self._poll_error:
                logger.error(
                    "could not refresh the served models; still serving the previous ones: %s",
                    message,
                    exc_info=not isinstance(exc, WindlassError),
                )
                self._poll_error = message
            return False
        if self._poll_error:
            logger.info("refreshing the served models works again")
            self._poll_error = ""
        if bool(problem) != bool(self.unavailable):  # one line per change of state
            if problem:
                logger.error("not ready: %s; readiness answers 503 until it is back", problem)
            else:
                logger.info("ready again: every served model is available")
        self.unavailable = problem
        return changed

    def _load(self, planned: Variant, current: ServedModel | None) -> ServedModel:
        if current is not None and current.resolved == resolve(planned.model_uri):
            return current
        return load(
            planned.name,
            planned.model_uri,
            trust=self.trust,
            batching=self.batching,
            metrics=self.metrics,
        )

    def _fingerprint(self, plan: Plan) -> tuple[Any, ...]:
        followed = tuple(
            resolve(v.model_uri)
            for v in (*plan.variants, *([plan.shadow] if plan.shadow else []))
            if not is_pinned(v.model_uri)
        )
        return (plan, followed)

    def refresh(self) -> bool:
        """Re-read the plan and load what changed (blocking); return whether anything did."""
        plan = self.read_plan()
        state = self._fingerprint(plan)
        if state == self._state:
            return False
        variants = {v.name: self._load(v, self.variants.get(v.name)) for v in plan.variants}
        shadow = None if plan.shadow is None else self._load(plan.shadow, self.shadow)
        split = TrafficSplit(plan.variants)
        old = [*self.variants.values(), *([self.shadow] if self.shadow else [])]
        # One assignment each: a request sees either the old or the new variant set.
        self._primary = max(plan.variants, key=lambda v: v.weight).name
        self.variants, self.shadow, self.split, self._state = variants, shadow, split, state
        kept = {id(s) for s in (*variants.values(), shadow) if s is not None}
        retired = [s for s in old if id(s) not in kept]
        for served in retired:
            logger.info(
                "retired %s version %s (variant %s)", served.name, served.version, served.variant
            )
        self._retired = retired
        return True

    def choose(self, key: str | None) -> ServedModel:
        """Return the variant answering a request with this key."""
        assert self.split is not None, "the router has not loaded its plan"
        return self.variants[self.split.choose(key).name]

    def by_model_name(self, name: str, key: str | None) -> ServedModel:
        """Return the variant to answer a V2 request for model ``name`` (or a variant name)."""
        chosen = self.choose(key)
        if name in (chosen.name, chosen.variant):
            return chosen
        for served in self.variants.values():
            if name in (served.name, served.variant):
                return served
        raise NotFound(
            f"this server serves no model named {name!r} (it serves "
            f"{sorted({s.name for s in self.variants.values()})})",
            model=name,
        )

    def primary(self) -> ServedModel:
        """Return the variant with the largest weight (it describes the API)."""
        assert self.split is not None
        return self.variants[self._primary]

    def all_served(self) -> list[ServedModel]:
        """Return every loaded model, shadow included."""
        return [*self.variants.values(), *([self.shadow] if self.shadow else [])]

    def track(self, task: asyncio.Task[Any]) -> None:
        """Keep a background task (a shadow call) referenced until it finishes."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def poll_forever(self) -> None:
        """Poll every ``poll_seconds`` (see :meth:`poll_once`); the old plan keeps serving."""
        while True:
            await asyncio.sleep(self.poll_seconds)
            if await asyncio.to_thread(self.poll_once):
                # Requests already routed to a retired model finish first.
                await asyncio.sleep(2.0)
                for served in self._retired:
                    await served.batcher.close()
                self._retired = []

    async def close(self) -> None:
        """Stop every batcher."""
        for task in list(self._tasks):
            task.cancel()
        for served in self.all_served():
            await served.batcher.close()
