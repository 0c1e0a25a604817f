"""list_orders: GET /v1/orders (the caller's own; an admin sees everyone's; status filter)."""

from __future__ import annotations

import asyncio

from uuid_utils.compat import uuid7

from tests.fixtures import bearer, page_through, problem
from tests.saga import order_in, product


async def test_a_customer_pages_through_only_their_own_orders(app, client, db_conn) -> None:
    me, other, tea = uuid7(), uuid7(), await product(db_conn)
    mine = [str(await order_in(db_conn, "pending", user_id=me, lines=[(tea, 1)]))
            for _ in range(7)]
    theirs = [str(await order_in(db_conn, "pending", user_id=other, lines=[(tea, 1)]))
              for _ in range(3)]
    seen, pages = await page_through(client, "/v1/orders", {"limit": 3},
                                     bearer(app, "customer", me))
    assert seen == mine[::-1] and pages == 3  # newest first, nobody else's
    everyone, _ = await page_through(client, "/v1/orders", {"limit": 4}, bearer(app, "admin"))
    assert everyone == (mine + theirs)[::-1]


async def test_the_status_filter_is_bound_into_the_cursor(app, client, db_conn) -> None:
    me = uuid7()
    headers = bearer(app, "customer", me)
    statuses = ["pending", "confirmed", "cancelled", "confirmed", "paid", "confirmed"]
    ids = [str(await order_in(db_conn, s, user_id=me)) for s in statuses]
    confirmed = [i for i, s in zip(ids, statuses, strict=True) if s == "confirmed"]
    seen, _ = await page_through(client, "/v1/orders", {"limit": 1, "status": "confirmed"},
                                 headers)
    assert seen == confirmed[::-1]
    page = (await client.get("/v1/orders", params={"limit": 1, "status": "confirmed"},
                             headers=headers)).json()
    for params, who in (({"cursor": page["next_cursor"]}, headers),  # the filter dropped
                        ({"cursor": page["next_cursor"], "status": "paid"}, headers),
                        ({"cursor": page["next_cursor"], "status": "confirmed"},
                         bearer(app, "customer"))):  # another caller's cursor
        body = problem(await client.get("/v1/orders", params=params, headers=who),
                       400, "validation-error")
        assert body["errors"][0]["parameter"] == "cursor"


async def test_bad_filters_and_limits_are_400_and_no_token_is_401(app, client) -> None:
    headers = bearer(app, "customer")
    for params, name in (({"status": "lost"}, "status"), ({"status": ""}, "status"),
                         ({"limit": "0"}, "limit"), ({"limit": "101"}, "limit"),
                         ({"cursor": "garbage"}, "cursor")):
        body = problem(await client.get("/v1/orders", params=params, headers=headers),
                       400, "validation-error")
        assert body["errors"][0]["parameter"] == name, params
    problem(await client.get("/v1/orders"), 401, "unauthenticated")
    empty = await client.get("/v1/orders", headers=headers)
    assert empty.json() == {"items": [], "next_cursor": None}


async def test_orders_placed_while_paging_never_repeat_or_hide_older_ones(app, client,
                                                                          db_conn) -> None:
    me = uuid7()
    headers = bearer(app, "customer", me)
    before = [str(await order_in(db_conn, "pending", user_id=me)) for _ in range(30)]
    done = asyncio.Event()

    async def page() -> list[str]:
        try:
            return (await page_through(client, "/v1/orders", {"limit": 4}, headers))[0]
        finally:
            done.set()

    async def place() -> None:
        while not done.is_set():
            await order_in(db_conn, "pending", user_id=me)
            await asyncio.sleep(0.001)

    seen, _ = await asyncio.gather(page(), place())
    assert len(seen) == len(set(seen))
    assert [i for i in seen if i in set(before)] == before[::-1]
