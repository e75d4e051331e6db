"""OpenAPI schema, Swagger UI and Redoc served without any CDN, and the browsable API."""

import re

import pytest
import yaml
from django.core.management import call_command
from django.test import Client

from conftest import PASSWORD

_ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


def test_schema_validates_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Knowledge Graph Lab API"
    assert any(path.startswith("/api/v1/") for path in schema["paths"])


def test_schema_documents_the_jwt_bearer_scheme():
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schemes = response.json()["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}.items() <= next(
        scheme.items() for scheme in schemes.values() if scheme.get("scheme") == "bearer"
    )


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_load_only_local_assets(url):
    client = Client()
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assets = [ref for ref in _ASSET.findall(html) if not ref.startswith(("#", "data:"))]
    assert assets, "the page references no scripts or styles"
    for ref in assets:
        assert ref.startswith("/"), f"{ref} is not served by this server"
        assert not ref.startswith("//"), f"{ref} is protocol-relative, i.e. remote"
    scripts = [ref for ref in assets if ref.startswith("/static/")]
    assert scripts
    for ref in scripts:
        asset = client.get(ref)
        assert asset.status_code == 200, ref
        assert b"".join(asset.streaming_content)
    assert "cdn.jsdelivr" not in html
    assert "unpkg.com" not in html


@pytest.mark.django_db
@pytest.mark.urls("kglab.tests.urls")
def test_browsable_api_with_session_login(user):
    client = Client()
    login_page = client.get("/api-auth/login/")
    assert login_page.status_code == 200
    response = client.post(
        "/api-auth/login/", {"username": user.email, "password": PASSWORD, "next": "/test/whoami/"}
    )
    assert response.status_code == 302
    page = client.get("/test/whoami/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    # The browsable page names the signed-in user, and the same session answers JSON clients.
    assert user.email in page.content.decode()
    assert client.get("/test/whoami/", HTTP_ACCEPT="application/json").json() == {"user_id": user.pk}
