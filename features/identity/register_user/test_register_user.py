"""register_user: POST /v1/users."""

from __future__ import annotations

import asyncio
import json

import pytest

from features.identity.register_user import logic
from shared.http.problems import Problem
from tests.fixtures import problem

VALID = {"email": "ada@example.com", "password": "correct horse 1", "name": "Ada Lovelace"}


# -- logic (pure) ---------------------------------------------------------------------------

def test_new_user_trims_email_and_name() -> None:
    user = logic.new_user("  Ada@Example.com ", "  Ada  ", "hash")
    assert (user.email, user.name, user.role) == ("Ada@Example.com", "Ada", "customer")
    assert user.id.version == 7


def test_new_user_rejects_a_blank_name() -> None:
    with pytest.raises(Problem) as caught:
        logic.new_user("a@b.c", "   ", "hash")
    assert caught.value.status == 400
    assert caught.value.extensions["errors"][0]["pointer"] == "#/name"


# -- HTTP, on a real database -----------------------------------------------------------------

async def test_registers_a_customer_and_records_the_event(client, db_conn) -> None:
    response = await client.post("/v1/users", json=VALID)
    assert response.status_code == 201, response.text
    user = response.json()
    assert set(user) == {"id", "email", "name", "role", "created_at"}
    assert user["role"] == "customer" and user["email"] == "ada@example.com"
    assert user["created_at"].endswith("Z")
    assert response.headers["location"] == f"/v1/users/{user['id']}"
    row = await (await db_conn.execute(
        "SELECT type, payload FROM kernel.outbox_events WHERE aggregate_id = %s",
        (user["id"],))).fetchone()
    assert row["type"] == "UserRegistered"
    assert row["payload"] == {"user_id": user["id"], "email": "ada@example.com",
                              "name": "Ada Lovelace"}


async def test_two_registrations_of_one_email_at_once_one_wins(client, db_conn) -> None:
    first, second = await asyncio.gather(
        client.post("/v1/users", json=VALID),
        client.post("/v1/users", json={**VALID, "email": "ADA@example.com"}))
    assert sorted([first.status_code, second.status_code]) == [201, 409]
    count = await (await db_conn.execute("SELECT count(*) AS n FROM identity.users")).fetchone()
    events = await (await db_conn.execute(
        "SELECT count(*) AS n FROM kernel.outbox_events")).fetchone()
    assert count["n"] == 1 and events["n"] == 1  # the loser left no event behind


async def test_email_is_unique_whatever_its_case(client) -> None:
    assert (await client.post("/v1/users", json=VALID)).status_code == 201
    again = await client.post("/v1/users", json={**VALID, "email": "ADA@EXAMPLE.COM"})
    body = problem(again, 409, "conflict")
    assert "email" in body["detail"]


@pytest.mark.parametrize(("change", "pointer"), [
    ({"password": "short77"}, "#/password"),
    ({"password": "x" * 129}, "#/password"),
    ({"name": ""}, "#/name"),
    ({"name": "n" * 201}, "#/name"),
    ({"name": "   "}, "#/name"),
    ({"email": "not-an-email"}, "#/email"),
    # Whitespace to Python's `\s` but not to ECMA's, and the other way round: refused all the
    # same, as the document's spelled-out pattern says.
    ({"email": "a\x1c@b.c"}, "#/email"),
    ({"email": "a@b.c\ufeff"}, "#/email"),
    ({"email": "a\x13@b.c"}, "#/email"),  # a control character
    ({"email": 42}, "#/email"),
    ({"role": "admin"}, "#/role"),  # unknown field: nobody registers themselves as admin
    ({"": 1}, "#/"),  # RFC 6901: the empty member name
    ({"a/b": 1}, "#/a~1b"),
])
async def test_invalid_bodies_are_400_with_a_pointer(client, change, pointer) -> None:
    response = await client.post("/v1/users", json={**VALID, **change})
    body = problem(response, 400, "validation-error")
    assert body["errors"][0]["pointer"] == pointer, body


async def test_missing_field_and_empty_body(client) -> None:
    body = problem(await client.post("/v1/users", json={"email": "a@b.c"}), 400,
                   "validation-error")
    assert body["errors"]
    problem(await client.post("/v1/users", content=b"", headers={
        "content-type": "application/json"}), 400, "validation-error")


async def test_malformed_json_wrong_media_type_and_oversize(client) -> None:
    problem(await client.post("/v1/users", content=b'{"email": ', headers={
        "content-type": "application/json"}), 400, "validation-error")
    problem(await client.post("/v1/users", content=json.dumps(VALID), headers={
        "content-type": "text/plain"}), 415, "unsupported-media-type")
    huge = json.dumps({**VALID, "name": "x" * (1024 * 1024 + 1)})
    problem(await client.post("/v1/users", content=huge, headers={
        "content-type": "application/json"}), 413, "payload-too-large")
