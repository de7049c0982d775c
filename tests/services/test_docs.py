"""The API docs page works without internet: its assets come from this server."""

from fastapi.testclient import TestClient


def test_docs__served_without_a_cdn(client: TestClient):
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn." not in page.text
    js = client.get("/docs-assets/swagger-ui-bundle.js")
    assert js.status_code == 200
    assert len(js.content) > 100_000
    assert client.get("/openapi.json").json()["info"]["title"] == "ShareFab"


def test_docs__swagger_ui_is_5_so_openapi_31_renders(client: TestClient):
    """Swagger UI 3.x answered FastAPI's 3.1 document with "Unable to render this definition"."""
    js = client.get("/docs-assets/swagger-ui-bundle.js").text
    assert 'PACKAGE_VERSION:"5.' in js
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
    assert "persistAuthorization" in client.get("/docs").text
