"""welcome_user: a registered user becomes a recipient and gets the welcome notification."""

from __future__ import annotations

import msgspec
import pytest
from uuid_utils.compat import uuid7

from features.notifications.testing import (
    announced,
    handle,
    handle_twice_at_once,
    notifications,
)
from features.notifications.welcome_user.handler import UserRegistered, subscription, welcome_user
from features.notifications.welcome_user.logic import welcome
from tests.fixtures import eventually, failed_delivery, make_settings, store_event

# What identity publishes (its events.py), plus a field it may add one day.
PUBLISHED = '{"user_id": "%s", "email": "ada@example.com", "name": "Ada", "later_field": 1}'


async def recipients(db_conn) -> list[dict]:
    cur = await db_conn.execute("SELECT user_id, email, name FROM notifications.recipients")
    return await cur.fetchall()


def test_reads_only_what_it_needs_from_the_published_event() -> None:
    user_id = uuid7()
    payload = msgspec.json.decode(PUBLISHED % user_id, type=subscription.payload_type)
    assert payload == UserRegistered(user_id=user_id, email="ada@example.com", name="Ada")
    assert subscription.shares_transaction  # short writes; its event travels with the commit


def test_the_welcome_greets_by_name_and_names_the_address() -> None:
    message = welcome("Ada Lovelace", "ada@example.com")
    assert message.subject == "Welcome to Rampart"
    assert message.body.startswith("Hello Ada Lovelace,\n")
    assert "ada@example.com" in message.body


def test_a_name_of_200_characters_still_fits() -> None:
    message = welcome("N" * 200, "n@example.com")
    assert len(message.subject) <= 200 and len(message.body) <= 5000


async def test_a_user_is_remembered_and_welcomed_once_however_often_delivered(db_conn) -> None:
    event = UserRegistered(user_id=uuid7(), email="ada@example.com", name="Ada")
    await handle(db_conn, welcome_user, event)
    await handle(db_conn, welcome_user, event)  # the relay delivered it again
    assert await recipients(db_conn) == [{"user_id": event.user_id, "email": "ada@example.com",
                                          "name": "Ada"}]
    [row] = await notifications(db_conn)
    assert (row["user_id"], row["kind"], row["source_id"]) == (event.user_id, "welcome",
                                                               event.user_id)
    assert await announced(db_conn) == [{"notification_id": str(row["id"]),
                                         "user_id": str(event.user_id), "kind": "welcome"}]


async def test_a_redelivered_older_event_does_not_overwrite_the_recipient(db_conn) -> None:
    user_id = uuid7()
    await handle(db_conn, welcome_user, UserRegistered(user_id=user_id, email="a@example.com",
                                                       name="A"))
    await handle(db_conn, welcome_user, UserRegistered(user_id=user_id, email="b@example.com",
                                                       name="B"))
    assert [r["email"] for r in await recipients(db_conn)] == ["a@example.com"]


async def test_one_event_handled_twice_at_once_welcomes_once(database_url, db_conn) -> None:
    event = UserRegistered(user_id=uuid7(), email="ada@example.com", name="Ada")
    await handle_twice_at_once(database_url, db_conn, welcome_user, event)
    assert len(await notifications(db_conn)) == 1
    assert len(await recipients(db_conn)) == 1
    assert len(await announced(db_conn)) == 1


async def test_a_failing_welcome_leaves_no_recipient_either(db_conn) -> None:
    # The same transaction: a body the table refuses (over 5000 characters) rolls back both.
    event = UserRegistered(user_id=uuid7(), email="ada@example.com", name="A" * 6000)
    with pytest.raises(Exception, match="notifications_body_check"):
        await handle(db_conn, welcome_user, event)
    assert await recipients(db_conn) == [] and await notifications(db_conn) == []


@pytest.mark.parametrize("payload", [b'{"email": "a@example.com", "name": "A"}',
                                     b'{"user_id": 42, "email": "a@example.com", "name": "A"}',
                                     b'{"user_id": "%s", "email": null, "name": "A"}' % (
                                         str(uuid7()).encode()),
                                     b'[]', b''])
def test_a_malformed_payload_does_not_decode(payload) -> None:
    with pytest.raises(msgspec.DecodeError):  # ValidationError is one too
        msgspec.json.decode(payload, type=subscription.payload_type)


class TestThroughTheRelay:
    @pytest.fixture
    def settings(self):
        return make_settings(relay_enabled="true", outbox_poll_ms=100)

    async def test_registering_over_http_brings_the_welcome(self, client, api) -> None:
        user = await api.register(name="Ada")
        tokens = await api.login(user["email"])
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}

        async def listed():
            return (await client.get("/v1/notifications", headers=headers)).json()["items"]

        [item] = await eventually(listed)
        assert item["kind"] == "welcome" and item["body"].startswith("Hello Ada,")

    async def test_a_malformed_event_fails_its_delivery_and_writes_nothing(self, db_conn,
                                                                           client) -> None:
        event_id = await store_event(db_conn, "UserRegistered", '{"user_id": 42, "email": "a@b.c",'
                                ' "name": "A"}', subscription.name)
        delivery = await failed_delivery(db_conn, event_id)
        assert delivery["state"] == "pending" and delivery["attempts"] >= 1  # to be retried
        assert delivery["last_error"].startswith("ValidationError: Expected `uuid`, got `int`")
        assert await recipients(db_conn) == [] and await notifications(db_conn) == []
