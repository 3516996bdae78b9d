"""The OpenAPI document: a valid OpenAPI 3.1 document that describes exactly the
routes the application has, with examples that match their own schemas."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from jsonschema import FormatChecker
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from starlette.routing import Route

from app.main import create_app
from app.routes.openapi import document
from app.settings import Settings

DOCUMENT = Path(__file__).parents[2] / "app" / "openapi.yaml"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))
    return loaded


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method.upper(), item[method]


def _app_routes(tmp_path: Path) -> set[tuple[str, str]]:
    settings = Settings(
        database_url="postgresql://x/y",
        redis_url="redis://x",
        jwt_secret="s" * 64,
        var_dir=tmp_path,
    )
    app = create_app(settings)  # not started: no lifespan, no connection
    found = set()
    for route in app.routes:
        assert isinstance(route, Route), f"unexpected route type {route!r}"
        if not route.include_in_schema:  # answers 405 only, to keep "jobs" no slug
            continue
        for method in route.methods or ():
            if method != "HEAD":  # Starlette adds HEAD to every GET
                found.add((route.path, method))
    return found


def test_document_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1.")

    validate(spec, cls=OpenAPIV31SpecValidator)


def test_document_is_what_the_route_serves_and_is_plain_json(
    spec: dict[str, Any],
) -> None:
    assert document() == spec
    # YAML reads an unquoted 2024-01-01 as a date, which JSON cannot carry.
    assert json.loads(json.dumps(spec, allow_nan=False)) == spec


def test_every_route_of_the_app_is_documented_and_nothing_else(
    spec: dict[str, Any], tmp_path: Path
) -> None:
    documented = {(path, method) for path, method, _ in _operations(spec)}

    routes = _app_routes(tmp_path)

    assert routes - documented == set(), "routes missing from the document"
    assert documented - routes == set(), "documented operations the app lacks"


def test_every_operation_takes_and_echoes_the_correlation_id(
    spec: dict[str, Any],
) -> None:
    for path, method, operation in _operations(spec):
        parameters = [
            *spec["paths"][path].get("parameters", []),
            *operation.get("parameters", []),
        ]
        assert {"$ref": "#/components/parameters/CorrelationId"} in parameters, (
            f"{method} {path} does not take X-Correlation-ID"
        )
        for status, given in operation["responses"].items():
            response = given
            if "$ref" in given:
                name = given["$ref"].rsplit("/", 1)[-1]
                response = spec["components"]["responses"][name]
            assert "X-Correlation-ID" in response.get("headers", {}), (
                f"{method} {path} {status} does not echo X-Correlation-ID"
            )


def test_every_operation_documents_its_failures(spec: dict[str, Any]) -> None:
    for path, method, operation in _operations(spec):
        statuses = set(operation["responses"])
        assert "500" in statuses, f"{method} {path}"
        if "requestBody" in operation:
            assert {"400", "413", "415"} <= statuses, f"{method} {path}"
        if operation.get("security", spec["security"]):
            assert "401" in statuses, f"{method} {path}"


def _pointer(parts: list[str]) -> str:
    escaped = (part.replace("~", "~0").replace("/", "~1") for part in parts)
    return "#/" + quote("/".join(escaped), safe="/~$-_.")


def _examples(node: Any, parts: list[str], in_schema: bool) -> Iterator[Any]:
    """(pointer of a schema, one example of it) for every example in the document."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _examples(item, [*parts, str(index)], in_schema)
        return
    if not isinstance(node, dict):
        return
    if in_schema:
        if "example" in node:
            yield _pointer(parts), node["example"]
        for value in node.get("examples", []):
            yield _pointer(parts), value
    elif "schema" in node:
        schema = _pointer([*parts, "schema"])
        if "example" in node:
            yield schema, node["example"]
        for example in node.get("examples", {}).values():
            yield schema, example["value"]
    for key, value in node.items():
        if key in ("example", "examples"):
            continue
        below = in_schema or key == "schema" or parts == ["components", "schemas"]
        yield from _examples(value, [*parts, key], below)


def test_every_example_matches_its_schema(spec: dict[str, Any]) -> None:
    found = list(_examples(spec, [], in_schema=False))
    assert len(found) > 20

    for pointer, example in found:
        # The document itself is the root schema, so its #/components refs resolve.
        schema = {**spec, "$ref": pointer}
        OAS31Validator(schema, format_checker=FormatChecker()).validate(example)


def test_an_example_that_breaks_its_schema_is_caught(spec: dict[str, Any]) -> None:
    schema = {**spec, "$ref": "#/components/schemas/Job"}
    validator = OAS31Validator(schema, format_checker=FormatChecker())

    assert not validator.is_valid({"id": "1", "processing": "no"})
