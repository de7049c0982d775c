"""The web app's routes: ``/app`` and its pages, and ``/static`` for their assets.

The pages carry no data and need no credentials (the policy table marks them public). Every
page extends ``pages/_page.html`` (the shared head and assets), and the four role pages its
frame ``pages/_role_page.html`` (header, language switch, notice box), through Jinja2
inheritance; each is rendered once and then served from memory. Every
figure on a page comes from an API call the page makes with the signed-in user's token, so a
page can never show more than the API allows that user. ``/app`` itself only sends the browser
on: the client reads ``/me`` and opens the page of the user's role.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.core.errors import NotFoundError

HERE = Path(__file__).resolve().parent
PAGES_DIR = HERE / "pages"
STATIC_DIR = HERE / "static"
# The pages of the contract; each is services/web/pages/<name>.html.
PAGES = ("login", "park", "sme", "factory", "analyst")

router = APIRouter(include_in_schema=False)
_TEMPLATES = Environment(loader=FileSystemLoader(PAGES_DIR), autoescape=select_autoescape(["html"]),
                         undefined=StrictUndefined, keep_trailing_newline=True)


def page_path(name: str) -> Path:
    """The HTML file of page ``name`` (404 until that page is built)."""
    path = PAGES_DIR / f"{name}.html"
    if name not in PAGES or not path.is_file():
        raise NotFoundError("page", name)
    return path


@lru_cache(maxsize=len(PAGES) + 1)
def _render(template: str) -> str:
    """A template as the browser gets it (the pages hold no data, so once is enough)."""
    return _TEMPLATES.get_template(template).render()


def render_page(name: str) -> str:
    """Page ``name`` of the contract as the browser gets it."""
    page_path(name)
    return _render(f"{name}.html")


@router.get("/app")
def app_home() -> HTMLResponse:
    """The role chooser: a tiny page that reads /me and opens the role's page."""
    return HTMLResponse(_render("home.html"), headers={"Cache-Control": "no-cache"})


def _page_route(name: str) -> None:
    def serve() -> HTMLResponse:
        # no-cache: a new release's page is picked up at once (assets are small)
        return HTMLResponse(render_page(name), headers={"Cache-Control": "no-cache"})

    serve.__name__ = f"page_{name}"
    router.add_api_route(f"/app/{name}", serve, methods=["GET"], include_in_schema=False)


for _name in PAGES:
    _page_route(_name)


@router.get("/")
def root() -> RedirectResponse:
    """The old dashboard's address: the web app lives under /app now."""
    return RedirectResponse("/app", status_code=307)


def install(app: FastAPI) -> None:
    """Add the pages and serve ``services/web/static`` at ``/static``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
