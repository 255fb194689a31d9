"""The web UI: server-rendered Jinja2 pages over the domain services, small vanilla JS.

One module per page area: :mod:`.render` (the template environment), :mod:`.session`
(who is looking, and the sign-in a page needs), :mod:`.login` (token sign-in and
sign-out), :mod:`.assets` (the files under ``static/``), :mod:`.projects`, :mod:`.runs`,
:mod:`.run`, :mod:`.compare`. Pages call the same domain services as the REST routes,
bound to the same principal; the JavaScript of a page reads the REST API (``/api/v1``).
Everything registers through the ``register_routes`` hook (:mod:`.plugin`).
"""
