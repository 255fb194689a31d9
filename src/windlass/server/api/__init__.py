"""The REST API, one module per resource: its router and its request and response models.

Routers reach the app through the ``register_routes`` plugin hook; the built-in ones are
registered by :mod:`windlass.server.api.plugin` like any third-party plugin's.
"""
