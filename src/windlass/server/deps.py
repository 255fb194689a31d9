"""Shared route dependencies."""

from __future__ import annotations

from fastapi import Request

from windlass.tracking.service import Tracking


def tracking(request: Request) -> Tracking:
    """Return the app's tracking domain object."""
    service: Tracking = request.app.state.tracking
    return service
