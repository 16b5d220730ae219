"""The browsable API docs at ``/api/v1/docs``: Swagger UI served from the package
``swagger-ui-bundle-v2`` (its dist files under :data:`ASSETS_PATH`), so the page works
without internet and under the CSP; its one inline script carries the response's nonce."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

from markupsafe import escape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from dagwright.web.errors import API_PREFIX
from dagwright.web.headers import csp_nonce

#: Where the pages app serves Swagger UI's files.
ASSETS_PATH: Final = "/static/swagger-ui"

#: The OpenAPI document the docs show.
OPENAPI_URL: Final = f"{API_PREFIX}/openapi.json"

#: Swagger UI's options: no validator badge (it would call a server on the internet).
OPTIONS: Final = {
    "url": OPENAPI_URL,
    "dom_id": "#swagger-ui",
    "validatorUrl": None,
    "deepLinking": True,
    "showExtensions": True,
}

PAGE: Final = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>dagwright API</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script nonce="{nonce}">
window.ui = SwaggerUIBundle(Object.assign({options}, {{
  presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout"
}}));
</script>
</body>
</html>
"""


def assets_directory() -> Path:
    """The folder of Swagger UI's dist files (``swagger-ui-bundle.js``, ``swagger-ui.css``)."""
    from swagger_ui_bundle import swagger_ui_path

    return Path(str(swagger_ui_path))


async def docs_page(request: Request) -> HTMLResponse:
    """The docs page, its inline script allowed by this response's nonce."""
    html = PAGE.format(
        assets=ASSETS_PATH, nonce=escape(csp_nonce(request)), options=json.dumps(OPTIONS)
    )
    return HTMLResponse(html)
