"""``/api/v1/docs``: Swagger UI on the OpenAPI document, for people.

The page and its scripts come from this server alone (Swagger UI's files from the
installed ``openapi-ui-bundles`` package), so it works without internet access,
and its Content-Security-Policy lets the browser load nothing from elsewhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from openapi_ui_bundles import swagger_ui
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

# Nothing from another origin, and no inline script or style: Swagger UI needs
# neither, only data: URIs for the icons its stylesheet draws.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
_PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}
_ASSET_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "max-age=3600"}

# Relative URLs name no host, so the page loads from wherever it was reached:
# from /api/v1/docs, "docs/x" is /api/v1/docs/x and "openapi.json" is the
# document at /api/v1/openapi.json.
PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>procserv API</title>
  <link rel="stylesheet" href="docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/swagger-ui-bundle.js"></script>
  <script src="docs/procserv-docs.js"></script>
</body>
</html>
"""

# In a file of its own: the policy allows no inline script.
_START = """\
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null
  });
});
"""


class Asset(NamedTuple):
    path: Path
    media_type: str


_VENDOR = Path(swagger_ui.static_path)
ASSETS = {
    "swagger-ui.css": Asset(_VENDOR / "swagger-ui.css", "text/css"),
    "swagger-ui-bundle.js": Asset(_VENDOR / "swagger-ui-bundle.js", "text/javascript"),
    "favicon-32x32.png": Asset(_VENDOR / "favicon-32x32.png", "image/png"),
}


async def docs_page(request: Request) -> Response:
    return HTMLResponse(PAGE, headers=_PAGE_HEADERS)


async def docs_asset(request: Request) -> Response:
    name = request.path_params["asset"]
    if name == "procserv-docs.js":
        return Response(_START, media_type="text/javascript", headers=_ASSET_HEADERS)
    asset = ASSETS.get(name)
    if asset is None:
        raise HTTPException(404)
    return FileResponse(asset.path, media_type=asset.media_type, headers=_ASSET_HEADERS)


ROUTES = [
    Route("/api/v1/docs", docs_page, methods=["GET"], include_in_schema=False),
    Route("/api/v1/docs/{asset}", docs_asset, methods=["GET"], include_in_schema=False),
]
