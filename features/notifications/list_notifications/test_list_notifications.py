"""list_notifications: GET /v1/notifications, the caller's own, newest first, cursor pages."""

from __future__ import annotations

import asyncio
from uuid import UUID

import pytest
from uuid_utils.compat import uuid7

from tests.fixtures import bearer, page_through, problem

PATH = "/v1/notifications"


async def seed(db_conn, user_id: UUID, n: int, kind: str = "order_confirmed") -> list[str]:
    ids = [uuid7() for _ in range(n)]
    await db_conn.execute(
        "INSERT INTO notifications.notifications (id, user_id, kind, source_id, subject, body,"
        " created_at) SELECT id, %s, %s, gen_random_uuid(), 'S' || n, 'B' || n, now()"
        " FROM unnest(%s::uuid[]) WITH ORDINALITY AS t(id, n)", (user_id, kind, ids))
    return [str(i) for i in ids]


def caller(app, user_id: UUID, role: str = "customer") -> dict[str, str]:
    return bearer(app, role, user_id)


async def test_lists_the_caller_s_notifications_newest_first(app, client, db_conn) -> None:
    me = uuid7()
    [first] = await seed(db_conn, me, 1, kind="welcome")
    [second] = await seed(db_conn, me, 1)
    response = await client.get(PATH, headers=caller(app, me))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None and "link" not in response.headers
    assert [i["id"] for i in body["items"]] == [second, first]
    assert body["items"][1] == {"id": first, "kind": "welcome", "subject": "S1", "body": "B1",
                                "created_at": body["items"][1]["created_at"]}
    assert body["items"][1]["created_at"].endswith("Z")


async def test_pages_through_every_notification_once(app, client, db_conn) -> None:
    me = uuid7()
    seeded = await seed(db_conn, me, 45)
    seen, pages = await page_through(client, PATH, {"limit": 10}, headers=caller(app, me))
    assert pages == 5 and seen == sorted(seeded, reverse=True)


async def test_another_user_s_notifications_are_never_listed(app, client, db_conn) -> None:
    me, other = uuid7(), uuid7()
    mine = await seed(db_conn, me, 3)
    await seed(db_conn, other, 30)
    seen, _ = await page_through(client, PATH, {"limit": 2}, headers=caller(app, me))
    assert sorted(seen) == sorted(mine)
    # Admins too see only their own: a notification is a message to one person.
    admin = (await client.get(PATH, headers=caller(app, uuid7(), "admin"))).json()
    assert admin["items"] == []


async def test_someone_else_s_cursor_is_400(app, client, db_conn) -> None:
    me, other = uuid7(), uuid7()
    await seed(db_conn, other, 3)
    theirs = (await client.get(PATH, params={"limit": 1}, headers=caller(app, other))).json()
    response = await client.get(PATH, params={"cursor": theirs["next_cursor"]},
                                headers=caller(app, me))
    assert problem(response, 400, "validation-error")["errors"][0]["parameter"] == "cursor"


@pytest.mark.parametrize("cursor", ["garbage", "a.b", "x" * 513])
async def test_forged_cursors_are_400(app, client, cursor) -> None:
    response = await client.get(PATH, params={"cursor": cursor}, headers=caller(app, uuid7()))
    assert problem(response, 400, "validation-error")["errors"][0]["parameter"] == "cursor"


@pytest.mark.parametrize("limit", ["0", "101", "abc", "-1", "1.5"])
async def test_bad_limits_are_400(app, client, limit) -> None:
    response = await client.get(PATH, params={"limit": limit}, headers=caller(app, uuid7()))
    assert problem(response, 400, "validation-error")["errors"][0]["parameter"] == "limit"


async def test_a_caller_with_none_gets_an_empty_page(app, client) -> None:
    response = await client.get(PATH, params={"limit": 100}, headers=caller(app, uuid7()))
    assert response.json() == {"items": [], "next_cursor": None}


async def test_without_a_token_it_is_401(client) -> None:
    response = await client.get(PATH)
    problem(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_notifications_written_while_paging_do_not_duplicate(app, client, db_conn) -> None:
    me = uuid7()
    await seed(db_conn, me, 10)
    headers = caller(app, me)
    first = (await client.get(PATH, params={"limit": 5}, headers=headers)).json()
    await seed(db_conn, me, 3)  # newer than every cursor
    rest = (await client.get(PATH, params={"limit": 100, "cursor": first["next_cursor"]},
                             headers=headers)).json()
    ids = [i["id"] for i in first["items"] + rest["items"]]
    assert len(ids) == len(set(ids)) == 10


async def test_many_callers_at_once_each_get_their_own(app, client, db_conn) -> None:
    users = [uuid7() for _ in range(8)]
    seeded = {u: await seed(db_conn, u, 2) for u in users}
    pages = await asyncio.gather(*(client.get(PATH, headers=caller(app, u)) for u in users))
    for user, page in zip(users, pages, strict=True):
        assert [i["id"] for i in page.json()["items"]] == seeded[user][::-1]
