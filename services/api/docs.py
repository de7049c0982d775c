"""OpenAPI docs served from the installed package, not a CDN.

FastAPI's default /docs page loads Swagger UI from a public CDN; park networks and the embedded
demo often run without internet, so the assets come from the ``fastapi-offline`` wheel, which
ships Swagger UI 5.x (``swagger-ui-dist``). Swagger UI 3.x could not read the OpenAPI 3.1
document FastAPI writes ("Unable to render this definition"); 5.x reads 3.1. Only the wheel's
``static`` folder is used, not its ``FastAPIOffline`` class, so the app shell stays ours.

The document declares the HTTP Bearer scheme of services.auth, so the page offers "Authorize";
``persistAuthorization`` keeps the pasted key across reloads of the page.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"


def assets_dir() -> Path:
    """The folder of swagger-ui-bundle.js and swagger-ui.css inside the fastapi-offline wheel."""
    return Path(str(files("fastapi_offline") / "static"))


def install(app: FastAPI) -> None:
    """Serve Swagger UI at /docs with local assets (create the app with docs_url=None)."""
    app.mount(ASSETS, StaticFiles(directory=assets_dir()), name="docs-assets")

    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
            swagger_ui_parameters={"persistAuthorization": True},
        )

    app.add_api_route("/docs", swagger_ui, methods=["GET"], include_in_schema=False)
