"""The REST client: every store interface over a windlass server's HTTP API.

:mod:`~windlass.store.rest.transport` sends the requests; one module per area
implements that area's interface over it; :class:`~windlass.store.rest.store.RestStore`
composes them.
"""
