"""The Starlette application: routes, error handlers and the lifespan that opens
the database pool, the Redis watcher and user event hub, and the Celery producer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware

from app import http
from app.auth.routes import ROUTES as AUTH_ROUTES
from app.db import open_async_pool
from app.errors import ApiError
from app.logs import configure_logging
from app.routes.docs import ROUTES as DOCS_ROUTES
from app.routes.jobs import ROUTES as JOB_ROUTES
from app.routes.notices import ROUTES as NOTICE_ROUTES
from app.routes.openapi import ROUTES as OPENAPI_ROUTES
from app.routes.processes import ROUTES as PROCESS_ROUTES
from app.settings import Settings, get_settings
from app.user_events import UserEventHub
from app.watcher import InstanceWatcher
from workers.celery_app import create_celery


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    configure_logging(settings)
    settings.signing_secret()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool = open_async_pool(settings.database_url)
        await pool.open(wait=True, timeout=30)
        # No socket timeout: the watcher's subscription is idle for long stretches.
        events = aioredis.Redis.from_url(settings.redis_url, socket_timeout=None)
        watcher = InstanceWatcher(events, settings.event_prefix)
        watcher.start()
        user_events = UserEventHub(events, settings.event_prefix)
        user_events.start()
        app.state.settings = settings
        app.state.pool = pool
        app.state.watcher = watcher
        app.state.user_events = user_events
        app.state.celery = create_celery(settings)
        try:
            yield
        finally:
            await user_events.stop()
            await watcher.stop()
            await events.aclose()
            await pool.close()

    app = Starlette(
        routes=[
            *AUTH_ROUTES,
            *JOB_ROUTES,
            *PROCESS_ROUTES,
            *NOTICE_ROUTES,
            *OPENAPI_ROUTES,
            *DOCS_ROUTES,
        ],
        middleware=[Middleware(http.CorrelationMiddleware)],
        exception_handlers={
            ApiError: http.handle_api_error,
            HTTPException: http.handle_http_exception,
        },
        lifespan=lifespan,
    )
    # "/api/v1/processes/" is not "/api/v1/processes": a JSON 404, not a redirect
    # built from the client's Host header.
    app.router.redirect_slashes = False
    return app
