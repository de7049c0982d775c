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
