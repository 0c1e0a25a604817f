"""list_payments: GET /v1/orders/{id}/payments (owner or admin), newest first, cursor pages."""

from __future__ import annotations

import asyncio

import pytest
from uuid_utils.compat import uuid7

from features.payments.conftest import Customer, confirmed_order
from features.payments.list_payments.logic import check_visible
from shared.auth.principal import Principal
from shared.http.problems import Problem
from tests.fixtures import bearer, page_through, problem


def url(order_id) -> str:
    return f"/v1/orders/{order_id}/payments"


async def three_attempts(client, customer, db_conn):
    """Two declines, then a success: three payments of one order."""
    order_id = await confirmed_order(db_conn, customer.id)
    ids = []
    for method in ("pm_card_chargeDeclined", "pm_card_chargeDeclinedInsufficientFunds",
                   "pm_card_visa"):
        answer = await client.post(url(order_id), json={"payment_method": method},
                                   headers=customer.paying())
        ids.append(answer.json().get("payment_id") or answer.json()["id"])
    return order_id, ids


def test_only_the_owner_or_an_admin_sees_an_order() -> None:
    owner = uuid7()
    check_visible(owner, Principal(user_id=owner, role="customer"))
    check_visible(owner, Principal(user_id=uuid7(), role="admin"))
    for who, known in ((Principal(user_id=uuid7(), role="customer"), owner),
                       (Principal(user_id=owner, role="customer"), None)):
        with pytest.raises(Problem) as caught:
            check_visible(known, who)
        assert caught.value.status == 404


async def test_the_owner_pages_through_newest_first(client, customer, db_conn, sandbox) -> None:
    order_id, ids = await three_attempts(client, customer, db_conn)
    answer = await client.get(url(order_id), headers=customer.headers)
    assert answer.status_code == 200
    items = answer.json()["items"]
    assert [i["id"] for i in items] == ids[::-1]
    assert [(i["status"], i["decline_code"]) for i in items] == [
        ("succeeded", None), ("failed", "insufficient_funds"), ("failed", "card_declined")]
    seen, pages = await page_through(client, url(order_id), {"limit": 1},
                                     headers=customer.headers)
    assert (seen, pages) == (ids[::-1], 3)


async def test_an_admin_sees_it_and_a_stranger_does_not(app, client, customer, db_conn,
                                                        sandbox) -> None:
    order_id, _ = await three_attempts(client, customer, db_conn)
    admin = await client.get(url(order_id), headers=bearer(app, "admin"))
    assert len(admin.json()["items"]) == 3
    stranger = Customer(app)
    for target in (order_id, uuid7()):
        problem(await client.get(url(target), headers=stranger.headers), 404, "not-found")
    problem(await client.get(url(order_id)), 401, "unauthenticated")


async def test_an_order_without_payments_is_an_empty_page(client, customer, db_conn,
                                                          sandbox) -> None:
    order_id = await confirmed_order(db_conn, customer.id)
    answer = await client.get(url(order_id), headers=customer.headers)
    assert answer.json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"limit": "x"},
                                    {"cursor": "forged.cursor"}])
async def test_bad_paging_is_400(client, customer, db_conn, sandbox, params) -> None:
    order_id = await confirmed_order(db_conn, customer.id)
    problem(await client.get(url(order_id), params=params, headers=customer.headers),
            400, "validation-error")


async def test_a_cursor_of_another_order_is_400(client, customer, db_conn, sandbox) -> None:
    order_id, _ = await three_attempts(client, customer, db_conn)
    other = await confirmed_order(db_conn, customer.id)
    cursor = (await client.get(url(order_id), params={"limit": 1},
                               headers=customer.headers)).json()["next_cursor"]
    problem(await client.get(url(other), params={"cursor": cursor}, headers=customer.headers),
            400, "validation-error")


async def test_reading_while_paying(client, customer, db_conn, sandbox) -> None:
    order_id = await confirmed_order(db_conn, customer.id)
    await sandbox.behave(latency_ms=200)
    pay = client.post(url(order_id), json={"payment_method": "pm_card_visa"},
                      headers=customer.paying())
    reads = [client.get(url(order_id), headers=customer.headers) for _ in range(3)]
    answers = await asyncio.gather(pay, *reads)
    assert answers[0].status_code == 201
    for read in answers[1:]:
        assert read.status_code == 200
        assert all(i["status"] in ("processing", "succeeded") for i in read.json()["items"])
