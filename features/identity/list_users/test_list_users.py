"""list_users: GET /v1/users (admin, cursor pages)."""

from __future__ import annotations

import asyncio

import pytest
from uuid_utils.compat import uuid7

from tests.fixtures import page_through, problem


async def seed_users(db_conn, n: int) -> list[str]:
    ids = [uuid7() for _ in range(n)]
    await db_conn.execute(
        "INSERT INTO identity.users (id, email, name, password_hash)"
        " SELECT id, 'u' || n || '@example.com', 'U' || n, 'x'"
        " FROM unnest(%s::uuid[]) WITH ORDINALITY AS t(id, n)", (ids,))
    return [str(i) for i in ids]


async def test_pages_through_every_user_once_newest_first(client, api, db_conn) -> None:
    admin = await api.admin_headers()
    await seed_users(db_conn, 45)
    seen, pages = await page_through(client, "/v1/users", {"limit": 10}, headers=admin)
    assert pages == 5 and len(seen) == len(set(seen)) == 46  # 45 seeded + the admin
    assert seen == sorted(seen, reverse=True)


async def test_customers_are_forbidden(client, api) -> None:
    problem(await client.get("/v1/users", headers=await api.user_headers()), 403, "forbidden")
    problem(await client.get("/v1/users"), 401, "unauthenticated")


@pytest.mark.parametrize("limit", ["0", "101", "abc", "-1"])
async def test_bad_limits_are_400(client, api, limit) -> None:
    response = await client.get("/v1/users", params={"limit": limit},
                                headers=await api.admin_headers())
    body = problem(response, 400, "validation-error")
    assert body["errors"][0]["parameter"] == "limit"


async def test_forged_and_foreign_cursors_are_400(client, api, db_conn) -> None:
    admin = await api.admin_headers()
    await seed_users(db_conn, 3)
    page = (await client.get("/v1/users", params={"limit": 1}, headers=admin)).json()
    cursor = page["next_cursor"]
    body, mac = cursor.split(".")
    for bad in [cursor[:-2] + "AA", f"{body}.{'A' * len(mac)}", "garbage", "a.b.c", ""]:
        if not bad:
            continue
        response = await client.get("/v1/users", params={"cursor": bad}, headers=admin)
        assert problem(response, 400, "validation-error")["errors"][0]["parameter"] == "cursor"
    # A valid cursor of this list does not work on another list.
    other = await client.get("/v1/products", params={"cursor": cursor})
    assert other.status_code in (400, 404)


async def test_users_registered_while_paging_do_not_duplicate(client, api, db_conn) -> None:
    admin = await api.admin_headers()
    await seed_users(db_conn, 10)
    first = (await client.get("/v1/users", params={"limit": 5}, headers=admin)).json()
    await asyncio.gather(*(api.register() for _ in range(3)))  # newer than every cursor
    rest = (await client.get("/v1/users", params={"limit": 100, "cursor": first["next_cursor"]},
                             headers=admin)).json()
    ids = [u["id"] for u in first["items"] + rest["items"]]
    assert len(ids) == len(set(ids)) == 11
