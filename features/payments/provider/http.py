"""The HTTP adapter: the port over a provider's API on a socket (the sandbox's, Stripe-like).

Every call has a connect timeout and a total timeout (httpx's own timeouts are per phase, so
the total is an `asyncio.timeout` around the whole exchange). Charges and refunds carry an
`Idempotency-Key` derived from the payment id: a retried call is the same call to the provider.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import msgspec

from features.payments.provider.port import Charge, ChargeRequest, ProviderUnavailable


class _Answer(msgspec.Struct):
    id: str
    status: str
    failure_code: str | None = None


class _Error(msgspec.Struct):
    type: str
    decline_code: str | None = None
    charge: str | None = None


class _ErrorBody(msgspec.Struct):
    error: _Error


class _Search(msgspec.Struct):
    data: list[_Answer]


class HttpProvider:
    def __init__(self, base_url: str, *, connect_timeout: float, total_timeout: float) -> None:
        self.total_timeout = total_timeout
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(total_timeout, connect=connect_timeout),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32))

    async def _call(self, method: str, path: str, *, key: str | None = None,
                    **kwargs: Any) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key else {}
        try:
            async with asyncio.timeout(self.total_timeout):
                answer = await self.client.request(method, path, headers=headers, **kwargs)
        except (httpx.HTTPError, TimeoutError) as exc:  # timeouts, refused, reset, protocol
            raise ProviderUnavailable(f"{method} {path}: {type(exc).__name__}") from exc
        if answer.status_code >= 500 or answer.status_code == 429:
            raise ProviderUnavailable(f"{method} {path}: HTTP {answer.status_code}")
        return answer

    async def charge(self, request: ChargeRequest) -> Charge:
        answer = await self._call("POST", "/v1/charges", key=request.idempotency_key, json={
            "amount": request.amount_cents, "currency": request.currency,
            "payment_method": request.payment_method,
            "metadata": {"payment_id": str(request.payment_id)}})
        if answer.status_code == 402:
            error = _decode(answer, _ErrorBody).error
            return Charge(id=error.charge or "", status="failed",
                          decline_code=error.decline_code or "card_declined")
        return _charge(_decode(answer, _Answer))

    async def find_charge(self, idempotency_key: str) -> Charge | None:
        answer = await self._call("GET", "/v1/charges/search",
                                  params={"idempotency_key": idempotency_key})
        found = _decode(answer, _Search).data
        return _charge(found[0]) if found else None

    async def refund(self, charge_id: str, *, idempotency_key: str) -> None:
        answer = await self._call("POST", "/v1/refunds", key=idempotency_key,
                                  json={"charge": charge_id})
        _decode(answer, dict)

    async def close(self) -> None:
        await self.client.aclose()


def _decode(answer: httpx.Response, kind: type[Any]) -> Any:
    if answer.status_code not in (200, 402):
        raise ProviderUnavailable(f"unexpected HTTP {answer.status_code} from the provider")
    try:
        return msgspec.json.decode(answer.content, type=kind)
    except msgspec.DecodeError as exc:
        raise ProviderUnavailable("the provider's answer is not understood") from exc


def _charge(answer: _Answer) -> Charge:
    if answer.status not in ("succeeded", "failed", "pending"):
        raise ProviderUnavailable(f"unknown charge status {answer.status!r}")
    return Charge(id=answer.id, status=answer.status,  # type: ignore[arg-type]
                  decline_code=answer.failure_code if answer.status == "failed" else None)
