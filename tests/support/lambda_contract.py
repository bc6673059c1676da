"""Check every exchange with the Lambda emulator against the official OpenAPI 3.1 contract.

`ContractRecorder` is the emulator's observer: it sees the bytes the client sent and the bytes the
emulator answered, validates the request (unless the emulator refused it with 400, which is what
bad-input tests provoke on purpose) and the response with openapi-core, and keeps the failures.
Statuses the spec does not list (429, 5xx) are checked against the generic error envelope that the
spec's introduction describes.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qsl

import jsonschema
from openapi_core import OpenAPI
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.testing import MockRequest, MockResponse

from automation.sandbox.lambda_emulator import Exchange

# The contract, copied from ../shared/specs so the checkout is self-contained.
SPEC_PATH = Path(__file__).resolve().parents[1] / "specs" / "lambda-cloud-openapi-1.8.3.json"
# Requests are validated as if sent to the production server the spec names.
SPEC_HOST = "https://cloud.lambda.ai"

# The spec lists no 400 for PUT /firewall-rules, yet a rule it forbids (a tcp rule without ports)
# must be refused somehow: the emulator answers global/invalid-parameters in the generic envelope.
UNDECLARED_BUT_NEEDED = {("PUT", "/api/v1/firewall-rules", 400)}

ERROR_ENVELOPE = {
    "type": "object", "required": ["error"], "additionalProperties": False,
    "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "suggestion": {"type": "string"}},
    }},
}


@functools.cache
def openapi() -> OpenAPI:
    if not SPEC_PATH.exists():
        raise FileNotFoundError(f"the Lambda Cloud OpenAPI spec is expected at {SPEC_PATH}")
    return OpenAPI.from_file_path(str(SPEC_PATH))


class ContractRecorder:
    def __init__(self) -> None:
        self.violations: list[str] = []
        self.validated: Counter[tuple[str, str, int]] = Counter()  # (method, path, status)

    def __call__(self, exchange: Exchange) -> None:
        try:
            self._validate(exchange)
        except Exception as exc:  # noqa: BLE001 - every failure is a finding, reported by the test
            self.violations.append(f"{exchange.method} {exchange.path} -> {exchange.status}: "
                                   f"{type(exc).__name__}: {exc}; caused by {exc.__cause__!r}")

    def _validate(self, exchange: Exchange) -> None:
        headers = {k.lower(): v for k, v in exchange.headers.items()}
        request = MockRequest(SPEC_HOST, exchange.method, exchange.path,
                              args=dict(parse_qsl(exchange.query)), headers=headers,
                              data=exchange.body or None,
                              content_type=headers.get("content-type", "application/json"))
        if exchange.status not in (400, 401):  # refused requests: the bad-input tests send them on purpose
            openapi().validate_request(request)
        response = MockResponse(exchange.response_body, exchange.status, exchange.response_headers,
                                content_type=exchange.response_headers.get("Content-Type", ""))
        try:
            openapi().validate_response(request, response)
        except ResponseNotFound:
            if exchange.status != 429 and exchange.status < 500 and \
                    (exchange.method, exchange.path, exchange.status) not in UNDECLARED_BUT_NEEDED:
                raise
            jsonschema.validate(json.loads(exchange.response_body), ERROR_ENVELOPE)
        self.validated[(exchange.method, exchange.path, exchange.status)] += 1
