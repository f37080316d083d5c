"""The OpenAPI document: served at ``/schema`` (browsable) and ``/schema/openapi.json``.

Every route documents the problems it can answer with, so generated clients and schema-driven tests
(schemathesis) know every status a route may return.

The browsable UI (Swagger UI at ``/schema`` and ``/schema/swagger``) loads its scripts and styles from
the package itself (``api/static/swagger-ui``, vendored from the npm package ``swagger-ui-dist`` with
its licence), never from a CDN, so the docs work offline and behind firewalls.
"""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
from litestar import Router
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme, Tag
from litestar.static_files import create_static_files_router
from litestar.typing import FieldDefinition

from api.errors import PROBLEM_JSON
from api.schemas.common import Problem

ASSETS = Path(__file__).parent / "static" / "swagger-ui"
ASSETS_PATH = "/schema/assets"
if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.openapi.spec import Schema

ALWAYS = (400, 429)
"""Every route may refuse malformed input and may be rate limited."""
PRIVATE = (401,)
ADMIN = (401, 403)


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """Problem responses for ``statuses`` plus those every route can return."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_JSON,
            description=HTTPStatus(status).phrase,
            generate_examples=False,
        )
        for status in sorted({*ALWAYS, *statuses})
    }


class ClosedRequestSchemas(StructSchemaPlugin):
    """Structs that refuse unknown fields (``forbid_unknown_fields``: every request body and the
    objects nested in them) say ``additionalProperties: false`` in their schemas, so generated
    clients and schema-driven tests know it too."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        if field_definition.is_union or not field_definition.is_subclass_of(msgspec.Struct):
            return False
        return bool(field_definition.type_.__struct_config__.forbid_unknown_fields)

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        schema.additional_properties = False
        return schema


def openapi_config(version: str) -> OpenAPIConfig:
    """The OpenAPI configuration of the flopex API."""
    return OpenAPIConfig(
        title="flopex",
        version=version,
        description=(
            "An exchange and pricing engine for GPU compute. Prices and money are decimal strings, "
            "quantities integers; errors are RFC 9457 problems with a stable `code`."
        ),
        path="/schema",
        render_plugins=[
            SwaggerRenderPlugin(
                path=["/", "/swagger"],
                js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
                css_url=f"{ASSETS_PATH}/swagger-ui.css",
                standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
                favicon="",
            )
        ],
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(type="http", scheme="bearer", description="an account's API key")
            }
        ),
        tags=[
            Tag(name="accounts"),
            Tag(name="market data"),
            Tag(name="instruments"),
            Tag(name="listings"),
            Tag(name="orders"),
            Tag(name="portfolio"),
            Tag(name="pricing"),
            Tag(name="index"),
            Tag(name="admin"),
            Tag(name="system"),
        ],
    )


def docs_assets() -> Router:
    """The UI's scripts and styles, served from the package at ``/schema/assets``."""
    return create_static_files_router(
        path=ASSETS_PATH, directories=[ASSETS], include_in_schema=False, name="docs-assets"
    )
