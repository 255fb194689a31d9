"""Writer-generated ids: a create sent again with the same id must be the same create.

Clients pick the ids of what they create (see :mod:`windlass.ids`), so a create retried
after a lost response finds the object its first attempt made and returns it. The same id
with another body is not a retry but a mistake (or a collision): :class:`IdConflict`,
409 ``ID_CONFLICT``, naming the fields that differ, and nothing is changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from windlass.exceptions import IdConflict


def require_same(
    kind: str, object_id: str, stored: Mapping[str, Any], wanted: Mapping[str, Any]
) -> None:
    """Raise IdConflict unless the stored object ``object_id`` has the ``wanted`` values.

    ``stored`` and ``wanted`` map the same field names (those a create fixes for good) to
    the stored values and to the values the create sent.
    """
    differ = sorted(name for name in wanted if stored[name] != wanted[name])
    if differ:
        raise IdConflict(
            f"{kind} id {object_id} is already taken by a {kind} with another "
            f"{', '.join(differ)}; a retry must send the same {kind} (or use a new id)",
            id=object_id,
            fields=differ,
        )
