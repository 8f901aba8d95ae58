"""schemathesis over every OpenAPI operation with a real token: no server error, every status
code and response body as the schema declares (so every 4xx the API returns is declared)."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from chorus.accounts.models import ApiToken

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
EXAMPLES = 4


@pytest.fixture
def wsgi_in_test_transaction():
    """The WSGI app inside the test's transaction: like Django's test client, requests must not
    close the database connection when they end."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_every_api_operation_conforms_to_its_schema(cast, sink_channel, wsgi_in_test_transaction):
    _token, raw = ApiToken.issue(cast.owner, "fuzz")
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", wsgi_in_test_transaction)
    failures: list[str] = []
    operations = 0
    calls: list[int] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case) -> None:
            if "slug" in (case.path_parameters or {}):
                case.path_parameters["slug"] = cast.workspace.slug
            calls.append(1)
            try:
                case.call_and_validate(headers={"Authorization": f"Bearer {raw}"}, checks=CHECKS)
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{case.operation.method.upper()} {case.operation.path}: {str(exc)[:800]}")

        run()
    print(f"{operations} operations, {len(calls)} calls, {len(failures)} failures")
    assert operations > 40 and len(calls) >= operations
    assert not failures, "\n\n".join(failures)
