"""The error tree: one root, unique codes, and the REST round trip keeps the class."""

from __future__ import annotations

import windlass
from windlass import exceptions


def test_codes_are_unique_and_statuses_are_http() -> None:
    classes = exceptions._all_error_classes()
    codes = [c.error_code for c in classes]
    assert len(codes) == len(set(codes))
    for cls in classes:
        assert issubclass(cls, windlass.WindlassError)
        assert 400 <= cls.http_status < 600


def test_every_error_is_drawn_in_the_module_docstring() -> None:
    doc = exceptions.__doc__ or ""
    for cls in exceptions._all_error_classes():
        assert cls.__name__ in doc and cls.error_code in doc


def test_error_from_dict_round_trip() -> None:
    for cls in exceptions._all_error_classes():
        error = cls("message", key="value")
        back = exceptions.error_from_dict(error.to_dict(), cls.http_status)
        assert type(back) is cls
        assert back.details == {"key": "value"}
    unknown = exceptions.error_from_dict({"error_code": "NEW_CODE", "message": "m"}, 404)
    assert isinstance(unknown, windlass.NotFound)
    # Without a code of ours (a HEAD answer has no body), the status still says which.
    for status, cls in (
        (401, exceptions.Unauthenticated),
        (403, exceptions.PermissionDenied),
        (429, exceptions.TooManyRequests),
        (418, exceptions.InvalidInput),
    ):
        assert type(exceptions.error_from_dict({"message": "m"}, status)) is cls
