"""The web UI and the HTTP API, built by :func:`dagwright.web.app.create_app`.

Importing this package imports nothing heavy; ``dagwright.web.app`` loads Starlette and
Jinja2 (only the ``ui`` and ``dev`` commands do), and FastAPI when the API is first built.
"""
