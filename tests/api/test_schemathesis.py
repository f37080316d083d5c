"""Property-based conformance: schemathesis generates requests from the app's own OpenAPI document.

Every operation gets a bounded number of generated requests (valid and invalid), sent in process with a
key that holds every role; no response may be a server error, and every response must match the
status codes, content types and schemas the document promises.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from litestar import Litestar
from litestar.testing import TestClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.settings import Settings
from market import db
from market.service import Exchange
from tests.api.conftest import make_client, next_month_start

EXAMPLES_PER_OPERATION = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
"""The response checks (the stateful ones would send their own requests over the network)."""


@pytest.fixture
def fuzzed(sqlite_url: str) -> Iterator[tuple[TestClient[Litestar], str]]:
    """An app with one all-roles account, cash, a product, a forward and a listing."""
    engine = db.make_engine(sqlite_url)
    exchange = Exchange(engine)
    key = exchange.create_account("everyone", ["admin", "provider", "trader"]).api_key
    engine.dispose()
    with make_client(sqlite_url) as client:
        auth = {"Authorization": f"Bearer {key}"}
        me = client.get("/v1/me", headers=auth).json()
        client.post(f"/v1/accounts/{me['account']['id']}/deposits", json={"amount": "100000"}, headers=auth)
        client.post("/v1/products", json={"id": "H100"}, headers=auth)
        start = next_month_start()
        forward = client.post(
            "/v1/instruments",
            headers=auth,
            json={"type": "forward", "product": "H100", "window": "month", "start": start.isoformat()},
        ).json()
        client.post(
            "/v1/listings",
            headers=auth,
            json={
                "product": "H100",
                "gpus": 4,
                "start": forward["window_start"],
                "end": forward["window_end"],
            },
        )
        yield client, key


def _operations() -> dict[str, Any]:
    """The API's operations by label, from the document the app serves (built without a database)."""
    document = create_app(Settings(database_url="sqlite://")).openapi_schema.to_schema()
    schema = schemathesis.openapi.from_dict(document)
    return {op.label: op for op in (result.ok() for result in schema.get_all_operations())}


OPERATIONS = _operations()


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_every_operation_conforms_to_the_schema(label: str, fuzzed: tuple[TestClient[Litestar], str]) -> None:
    client, key = fuzzed
    headers = {"Authorization": f"Bearer {key}"}

    @given(case=OPERATIONS[label].as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def conforms(case: Any) -> None:
        kwargs = case.as_transport_kwargs(base_url=str(client.base_url), headers=headers)
        request = {k: v for k, v in kwargs.items() if k in ("method", "url", "headers", "params", "json")}
        if "data" in kwargs:
            request["content"] = kwargs["data"]
        response = client.request(**request)
        assert response.status_code < 500, response.text
        case.validate_response(response, headers=headers, checks=CHECKS)

    conforms()
