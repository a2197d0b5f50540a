"""The application factory: one FastAPI app serving the REST API (and later the UI)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import Engine, text

from funnelwise import __version__
from funnelwise.api.deps import SessionDep
from funnelwise.api.errors import install_error_handlers
from funnelwise.api.wake import WakeWorkerMiddleware
from funnelwise.clock import Clock, SystemClock
from funnelwise.commerce.http import router as commerce_router
from funnelwise.config import Settings
from funnelwise.contacts.http import router as contacts_router
from funnelwise.context import Context
from funnelwise.db.engine import make_engine, make_sessionmaker
from funnelwise.messaging.bounces_http import public_router as email_hooks_router
from funnelwise.messaging.bounces_http import router as email_dsn_router
from funnelwise.messaging.broadcasts.http import router as broadcasts_router
from funnelwise.messaging.consent_http import router as consents_router
from funnelwise.messaging.delivery_reports_http import router as delivery_reports_router
from funnelwise.messaging.http import router as outbox_router
from funnelwise.messaging.preferences_http import router as preferences_router
from funnelwise.messaging.public_http import router as email_tracking_router
from funnelwise.messaging.suppression_http import router as suppressions_router
from funnelwise.messaging.templates.http import router as templates_router
from funnelwise.sales.http import router as sales_router
from funnelwise.scoring.http import router as scoring_router
from funnelwise.segments.http import router as segments_router
from funnelwise.tracking.http import public_router as tracking_public_router
from funnelwise.tracking.http import router as tracking_router
from funnelwise.worker import WorkerProcess
from funnelwise.workflows.http import journeys_router as workflow_journeys_router
from funnelwise.workflows.http import router as workflows_router


def create_app(
    settings: Settings | None = None, *, engine: Engine | None = None, clock: Clock | None = None
) -> FastAPI:
    settings = settings or Settings()
    settings.resolved_secret_key()
    engine = engine or make_engine(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.run_worker:
            app.state.worker.start()
        yield
        app.state.worker.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="Funnelwise",
        version=__version__,
        description="Self-hosted marketing automation. Authenticate with `Authorization: Bearer <api key>`.",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.context = Context(settings=settings, clock=clock or SystemClock())
    # Started by the lifespan (when the settings say so); every write wakes it.
    app.state.worker = WorkerProcess(settings)
    install_error_handlers(app)
    app.add_middleware(WakeWorkerMiddleware, wake=app.state.worker.wake)
    # Web pages on other origins send tracking calls; the REST API takes bearer keys, never
    # cookies, so admitting any origin exposes nothing a caller does not already hold.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "Content-Encoding"],
    )
    app.include_router(contacts_router, prefix="/api/v1")
    app.include_router(tracking_router, prefix="/api/v1")
    app.include_router(commerce_router, prefix="/api/v1")
    app.include_router(segments_router, prefix="/api/v1")
    app.include_router(scoring_router, prefix="/api/v1")
    app.include_router(sales_router, prefix="/api/v1")
    app.include_router(workflows_router, prefix="/api/v1")
    app.include_router(workflow_journeys_router, prefix="/api/v1")
    app.include_router(outbox_router, prefix="/api/v1")
    app.include_router(consents_router, prefix="/api/v1")
    app.include_router(broadcasts_router, prefix="/api/v1")
    app.include_router(suppressions_router, prefix="/api/v1")
    app.include_router(email_dsn_router, prefix="/api/v1")
    app.include_router(templates_router, prefix="/api/v1")
    app.include_router(tracking_public_router)
    app.include_router(preferences_router)
    app.include_router(email_tracking_router)
    app.include_router(email_hooks_router)
    app.include_router(delivery_reports_router)

    @app.get("/healthz", tags=["health"])
    def healthz(session: SessionDep) -> dict[str, str]:
        session.execute(text("SELECT 1"))
        return {"status": "ok", "database": engine.dialect.name}

    return app
