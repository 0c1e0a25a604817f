"""The sandbox over HTTP, Stripe-style: what `rampart payments-sandbox --port P` serves.

Provider API (what the HTTP adapter calls):
- `POST /v1/charges` (`Idempotency-Key` required) `{amount, currency, payment_method,
  metadata}`: 200 the charge (succeeded or pending), 402 `{"error": {"type": "card_error",
  "decline_code", "charge"}}` when declined;
- `GET /v1/charges/search?idempotency_key=K`: 200 `{"data": [charge]}` (empty if none);
- `POST /v1/refunds` (`Idempotency-Key` required) `{charge}`: 200 the refund, 404 no charge.
Control (for tests and people): `GET|PUT /_sandbox/behaviour`, `POST /_sandbox/reset`,
`GET /_sandbox/charges`, `GET /_sandbox/events` (the signed webhooks it made).
"""

from __future__ import annotations

import os
import secrets
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, get, post, put

from features.payments.provider.sandbox import Behaviour, Injected, Sandbox


class ChargeBody(msgspec.Struct, kw_only=True):
    amount: int
    currency: str
    payment_method: str
    metadata: dict[str, str] = msgspec.field(default_factory=dict)


class RefundBody(msgspec.Struct, kw_only=True):
    charge: str


def _error(status: int, kind: str, **fields: Any) -> Response[Any]:
    return Response({"error": {"type": kind, **fields}}, status_code=status)


class _Refused(Exception):
    """A request the provider would refuse as malformed (400)."""


async def _command(request: Request[Any, Any, Any], kind: type[Any]) -> tuple[str, Any]:
    """The Idempotency-Key and body of a POST, as a provider requires both."""
    try:
        data = msgspec.json.decode(await request.body(), type=kind)
    except msgspec.ValidationError as exc:
        raise _Refused(str(exc)) from None
    key = request.headers.get("idempotency-key")
    if not key:
        raise _Refused("Idempotency-Key required")
    return key, data


def sandbox_app(sandbox: Sandbox) -> Litestar:
    @post("/v1/charges")
    async def create_charge(request: Request[Any, Any, Any]) -> Response[Any]:
        key, data = await _command(request, ChargeBody)
        charge = await sandbox.charge(key, data.amount, data.currency, data.payment_method,
                                      data.metadata)
        if charge.status == "failed":
            return _error(402, "card_error", code="card_declined",
                          decline_code=charge.failure_code, charge=charge.id)
        return Response(charge, status_code=200)

    @get("/v1/charges/search")
    async def search_charges(idempotency_key: str) -> Response[Any]:
        charge = await sandbox.find(idempotency_key)
        return Response({"data": [] if charge is None else [charge]})

    @post("/v1/refunds")
    async def create_refund(request: Request[Any, Any, Any]) -> Response[Any]:
        key, data = await _command(request, RefundBody)
        charge = await sandbox.refund(data.charge, key)
        if charge is None:
            return _error(404, "invalid_request_error", code="resource_missing")
        return Response({"id": f"re_{key}", "charge": charge.id, "status": "succeeded"},
                        status_code=200)

    @get("/_sandbox/behaviour")
    async def read_behaviour() -> Behaviour:
        return sandbox.behaviour

    @put("/_sandbox/behaviour", status_code=200)
    async def set_behaviour(request: Request[Any, Any, Any]) -> Behaviour:
        sandbox.behaviour = msgspec.json.decode(await request.body(), type=Behaviour)
        return sandbox.behaviour

    @post("/_sandbox/reset", status_code=204)
    async def reset() -> None:
        sandbox.reset()

    @get("/_sandbox/charges")
    async def list_charges() -> dict[str, Any]:
        return {"data": list(sandbox.charges.values()), "calls": sandbox.calls}

    @get("/_sandbox/events")
    async def list_events() -> dict[str, Any]:
        return {"data": sandbox.events}

    return Litestar([create_charge, search_charges, create_refund, read_behaviour,
                     set_behaviour, reset, list_charges, list_events], openapi_config=None,
                    exception_handlers={
                        Injected: lambda _, __: _error(500, "api_error"),
                        _Refused: lambda _, exc: _error(400, "invalid_request_error",
                                                        message=str(exc))})


def app() -> Litestar:
    """granian's factory (`rampart payments-sandbox`): the secret and the webhook target come
    from the environment the command set."""
    secret = os.environ.get("PAYMENT_WEBHOOK_SECRET") or secrets.token_hex(16)
    sandbox = Sandbox(secret)
    sandbox.behaviour.webhook_url = os.environ.get("SANDBOX_WEBHOOK_URL") or None
    return sandbox_app(sandbox)
