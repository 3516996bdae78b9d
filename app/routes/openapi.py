"""The OpenAPI document of the API, at ``/api/v1/openapi.json``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.http import json_response

_DOCUMENT = Path(__file__).parent.parent / "openapi.yaml"


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(_DOCUMENT.read_text(encoding="utf-8"))
    return loaded


async def openapi(request: Request) -> Response:
    return json_response(document())


ROUTES = [Route("/api/v1/openapi.json", openapi, methods=["GET"])]
