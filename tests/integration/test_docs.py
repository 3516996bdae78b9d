"""The interactive API page: Swagger UI served by procserv itself, open without a
login, loading nothing from another origin."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import uvicorn
from starlette.testclient import TestClient

from app.embedded import free_port
from app.main import create_app
from app.routes.openapi import document
from app.settings import Settings
from tests.support.browser import CHROMIUM, open_page

PAGE = "/api/v1/docs"
TYPES = {".css": "text/css", ".js": "text/javascript", ".png": "image/png"}


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [
            value for name, value in attrs if name in ("src", "href") and value
        ]


def references(html: str) -> list[str]:
    parser = _References()
    parser.feed(html)
    return parser.found


def _page_path(reference: str) -> str:
    return urlsplit(urljoin("http://procserv.test" + PAGE, reference)).path


def test_the_page_is_html_and_needs_no_login(client: TestClient) -> None:
    answer = client.get(PAGE)

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert '<div id="swagger-ui">' in answer.text


def test_the_page_names_only_files_of_its_own_server(client: TestClient) -> None:
    html = client.get(PAGE).text

    found = references(html)

    assert len(found) >= 3
    for reference in found:
        parts = urlsplit(reference)
        assert (parts.scheme, parts.netloc) == ("", ""), reference
    assert not re.search(r"https?:|//[a-z]", html, re.IGNORECASE)


def test_the_policy_lets_the_browser_load_only_from_this_server(
    client: TestClient,
) -> None:
    policy = client.get(PAGE).headers["content-security-policy"]

    directives = dict(item.strip().split(" ", 1) for item in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert "http" not in policy
    assert "*" not in policy


def test_every_file_the_page_names_answers_with_its_type(client: TestClient) -> None:
    for reference in references(client.get(PAGE).text):
        path = _page_path(reference)

        answer = client.get(path)

        assert answer.status_code == 200, path
        expected = TYPES[Path(path).suffix]
        assert answer.headers["content-type"].split(";")[0] == expected, path
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert len(answer.content) > 0


def test_the_start_script_loads_this_servers_document(client: TestClient) -> None:
    script = client.get(PAGE + "/procserv-docs.js").text

    (url,) = re.findall(r'url: "([^"]+)"', script)

    assert _page_path(url) == "/api/v1/openapi.json"
    assert client.get(_page_path(url)).json() == document()


@pytest.mark.parametrize(
    "path", [PAGE + "/index.html", PAGE + "/..%2Fopenapi.yaml", PAGE + "/"]
)
def test_a_file_the_page_does_not_serve_is_a_json_404(
    client: TestClient, path: str
) -> None:
    answer = client.get(path)

    assert answer.status_code == 404
    assert answer.json()["status"] == 404


@pytest.fixture(scope="module")
def served(settings: Settings) -> Iterator[str]:
    """The app on a real port, for a browser."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the app did not start within 30 s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


_RENDERED_PATHS = """[...document.querySelectorAll('.opblock-summary-path')]
    .map(e => e.dataset.path)"""
_STATUS = "document.querySelector('.live-responses-table tbody .response-col_status')"


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium on this machine (apt-get install chromium; .ci/run does)",
)
def test_a_browser_shows_every_operation_and_tries_one_out(
    served: str, tmp_path: Path
) -> None:
    """Swagger UI renders the document, and "Try it out" reaches the API, all
    within the page's policy: nothing refused, nothing thrown."""
    with open_page(tmp_path) as page:
        page.open(served + PAGE)
        paths = page.wait_for(f"({_RENDERED_PATHS}).length && {_RENDERED_PATHS}")

        operation = "#operations-meta-getOpenApi"
        page.evaluate(f"document.querySelector('{operation} button').click()")
        page.wait_for(f"!!document.querySelector('{operation} .try-out__btn')")
        page.evaluate(f"document.querySelector('{operation} .try-out__btn').click()")
        page.wait_for(f"!!document.querySelector('{operation} .execute')")
        page.evaluate(f"document.querySelector('{operation} .execute').click()")
        status = page.wait_for(f"{_STATUS} && {_STATUS}.textContent.trim()")

    assert set(paths) == set(document()["paths"])
    assert status == "200"
    assert page.problems == []
