"""UI test fixtures (defined in :mod:`ui_world`, which tests import their helpers from)."""

from registry_world import (  # noqa: F401 - the models, deployments and prompts pages' world
    registry_auth_site,
    registry_postgres_site,
    registry_site,
)
from ui_world import (  # noqa: F401 - fixtures are found by name in this module
    any_site,
    auth_site,
    browser,
    page,
    postgres_site,
    sqlite_site,
    watch,
)
