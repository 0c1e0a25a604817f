"""The Idempotency-Key mechanism, on a probe route whose effect is one row in a scratch table.

The probe's behaviour is chosen by the body's `note`: wait on a gate (to hold a request in
flight), fail with 409 or 500 after writing, or write a row that a deferred trigger refuses at
commit (a crash at the worst moment: after the effect and the record, before COMMIT ends).
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import msgspec
import pytest
from litestar import Litestar, Response
from litestar.params import JSONBody
from uuid_utils.compat import uuid7

from shared.app import create_app
from shared.auth.principal import Principal
from shared.http import idempotency
from shared.http.idempotency import IdempotentTx, fingerprint, idempotent_post, parse_key
from shared.http.problems import Problem, conflict
from shared.http.schema import Body
from shared.modules import Module
from tests.fixtures import eventually, problem

PROBE_TABLE = """
CREATE TABLE public.probe_effects (id uuid PRIMARY KEY, note text NOT NULL);
CREATE FUNCTION public.probe_refuse() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$;
CREATE CONSTRAINT TRIGGER probe_refuse AFTER INSERT ON public.probe_effects
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.note = 'refuse-at-commit')
    EXECUTE FUNCTION public.probe_refuse();
"""


class Note(Body, frozen=True):
    note: str


class Gate:
    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()


GATE: list[Gate] = []


async def _effect(tx: Any, note: str) -> Response[dict[str, Any]]:
    await tx.execute("INSERT INTO public.probe_effects (id, note) VALUES (%s, %s)",
                     (uuid7(), note))
    if note == "wait":
        GATE[0].entered.set()
        await GATE[0].release.wait()
    if note == "conflict":
        raise conflict("The probe says no.")
    if note == "boom":
        raise RuntimeError("probe failure")
    return Response({"note": note, "id": str(uuid7())}, status_code=201,
                    headers={"Location": "/probe/1"})


@idempotent_post("/probe")
async def probe(data: JSONBody[Note], tx: IdempotentTx) -> Response[dict[str, Any]]:
    return await _effect(tx, data.note)


@idempotent_post("/probe/other")
async def probe_other(data: JSONBody[Note], tx: IdempotentTx) -> Response[dict[str, Any]]:
    return await _effect(tx, data.note)


@pytest.fixture
async def app(settings, database_url, db_conn) -> Litestar:
    await db_conn.execute(PROBE_TABLE)
    GATE[:] = [Gate()]
    return create_app(settings, database_url=database_url,
                      modules=[Module("probe", routes=[probe, probe_other])])


@pytest.fixture
def headers(app: Litestar):
    def make(key: str | None = "key-1", user: UUID | None = None) -> dict[str, str]:
        token = app.state.tokens.issue(Principal(user_id=user or USER, role="customer"))
        result = {"Authorization": f"Bearer {token}"}
        if key is not None:
            result["Idempotency-Key"] = key
        return result
    return make


USER = UUID("01900000-0000-7000-8000-000000000001")


async def effects(db_conn) -> list[str]:
    rows = await (await db_conn.execute("SELECT note FROM public.probe_effects")).fetchall()
    return [r["note"] for r in rows]


async def records(db_conn) -> int:
    cur = await db_conn.execute("SELECT count(*) AS n FROM kernel.idempotency_keys")
    return (await cur.fetchone())["n"]


# -- pure rules -----------------------------------------------------------------------------


@pytest.mark.parametrize(("values", "key"), [
    (["abc"], "abc"), (['"abc"'], "abc"), ([' "a b" '], "a b"), ([r'"say \"hi\""'], 'say "hi"'),
    (["x" * 255], "x" * 255), (["~!#$%&'*+-.^_`|"], "~!#$%&'*+-.^_`|"),
    (['"' + '\\"' * 255 + '"'], '"' * 255),  # 255 characters, each escaped
])
def test_keys_are_bare_or_quoted_printable_ascii(values, key):
    assert parse_key(values) == key


@pytest.mark.parametrize("values", [
    [""], ['""'], ["x" * 256], ['"' + "x" * 256 + '"'], ["caf\u00e9"], ["tab\there"],
    ['"unterminated'], ['"bad \\n escape"'], ["a", "b"], ["abc\n"], ['"abc"\n'],
])
def test_malformed_keys_are_refused(values):
    with pytest.raises(Problem) as caught:
        parse_key(values)
    assert caught.value.status == 400
    assert caught.value.extensions["errors"][0]["parameter"] == "Idempotency-Key"


def test_a_missing_key_has_its_own_problem_type():
    with pytest.raises(Problem) as caught:
        parse_key([])
    assert (caught.value.status, caught.value.slug) == (400, "idempotency-key-missing")


def test_fingerprint_ignores_json_formatting_but_not_content():
    assert fingerprint(b'{"a": 1, "b": [1, 2]}') == fingerprint(b'{"b":[1,2],"a":1}')
    assert fingerprint(b'{"a": 1}') != fingerprint(b'{"a": 2}')
    assert fingerprint(b"not json") != fingerprint(b"not json!")


# -- over HTTP ------------------------------------------------------------------------------


async def test_a_retry_replays_the_stored_answer_and_does_nothing_again(client, headers,
                                                                        db_conn):
    first = await client.post("/probe", json={"note": "once"}, headers=headers())
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    # The same key quoted, the same JSON formatted differently: the same request.
    again = await client.post("/probe", content=b'{ "note" : "once" }',
                              headers={**headers('"key-1"'), "Content-Type": "application/json"})
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers["location"] == "/probe/1"
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    assert await effects(db_conn) == ["once"]


async def test_a_missing_key_is_400_and_nothing_happens(client, headers, db_conn):
    response = await client.post("/probe", json={"note": "x"}, headers=headers(key=None))
    body = problem(response, 400, "idempotency-key-missing")
    assert body["errors"] == [{"parameter": "Idempotency-Key", "detail": "is required"}]
    problem(await client.post("/probe", json={"note": "x"}, headers=headers("x" * 256)),
            400, "validation-error")
    assert await effects(db_conn) == []
    # The longest key, quoted with every character escaped, is still one key of 255.
    escaped = '"' + '\\\\' * 255 + '"'
    response = await client.post("/probe", json={"note": "x"}, headers=headers(escaped))
    assert response.status_code == 201, response.text
    again = await client.post("/probe", json={"note": "x"}, headers=headers("\\" * 255))
    assert again.headers["idempotent-replayed"] == "true"


async def test_the_same_key_for_another_body_or_endpoint_is_422(client, headers, db_conn):
    assert (await client.post("/probe", json={"note": "a"}, headers=headers())).status_code == 201
    problem(await client.post("/probe", json={"note": "b"}, headers=headers()),
            422, "idempotency-key-reused")
    problem(await client.post("/probe/other", json={"note": "a"}, headers=headers()),
            422, "idempotency-key-reused")
    assert await effects(db_conn) == ["a"]


async def test_keys_belong_to_their_caller(client, headers, db_conn):
    other = UUID("01900000-0000-7000-8000-000000000002")
    for user in (USER, other):
        response = await client.post("/probe", json={"note": "mine"}, headers=headers(user=user))
        assert response.status_code == 201
        assert "idempotent-replayed" not in response.headers
    assert await effects(db_conn) == ["mine", "mine"]


async def test_a_duplicate_in_flight_gets_409_at_once_and_never_runs(client, headers, db_conn):
    gate = GATE[0]
    first = asyncio.create_task(client.post("/probe", json={"note": "wait"}, headers=headers()))
    await asyncio.wait_for(gate.entered.wait(), 5)
    duplicate = await asyncio.wait_for(
        client.post("/probe", json={"note": "wait"}, headers=headers()), 5)
    body = problem(duplicate, 409, "idempotency-in-progress")
    assert duplicate.headers["retry-after"] == "1" and body["detail"]
    gate.release.set()
    assert (await first).status_code == 201
    replay = await client.post("/probe", json={"note": "wait"}, headers=headers())
    assert replay.headers["idempotent-replayed"] == "true"
    assert await effects(db_conn) == ["wait"]


async def test_many_concurrent_duplicates_make_one_effect(client, headers, db_conn):
    answers = await asyncio.gather(*(
        client.post("/probe", json={"note": "race"}, headers=headers()) for _ in range(10)))
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {201, 409}, statuses
    fresh = [a for a in answers if a.status_code == 201 and "idempotent-replayed" not in a.headers]
    assert len(fresh) == 1
    assert await effects(db_conn) == ["race"]


async def test_a_4xx_is_stored_but_its_effect_is_rolled_back(client, headers, db_conn):
    first = await client.post("/probe", json={"note": "conflict"}, headers=headers())
    problem(first, 409, "conflict")
    again = await client.post("/probe", json={"note": "conflict"}, headers=headers())
    assert again.status_code == 409 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert await effects(db_conn) == []


async def test_a_5xx_is_not_stored_so_the_key_can_be_retried(client, headers, db_conn):
    problem(await client.post("/probe", json={"note": "boom"}, headers=headers()),
            500, "internal-error")
    assert await effects(db_conn) == [] and await records(db_conn) == 0
    # A request that was refused as invalid is not stored either: fix it, keep the key.
    problem(await client.post("/probe", json={"nope": 1}, headers=headers()),
            400, "validation-error")
    fixed = await client.post("/probe", json={"note": "fixed"}, headers=headers())
    assert fixed.status_code == 201 and "idempotent-replayed" not in fixed.headers
    assert await effects(db_conn) == ["fixed"]


async def test_effect_and_record_commit_together_or_not_at_all(client, headers, db_conn):
    # The deferred trigger fails the COMMIT itself: after the effect and the record were
    # written, before the answer left. The caller must not be told 201, and nothing may stay.
    response = await client.post("/probe", json={"note": "refuse-at-commit"}, headers=headers())
    problem(response, 500, "internal-error")
    assert await effects(db_conn) == [] and await records(db_conn) == 0


async def test_expired_records_are_ignored_then_purged_in_batches(app, client, headers, db_conn):
    assert (await client.post("/probe", json={"note": "old"}, headers=headers())).status_code \
        == 201
    await db_conn.execute("""
        INSERT INTO kernel.idempotency_keys
            (caller, key, endpoint, fingerprint, status, headers, body, expires_at)
        SELECT 'ip:old', 'k' || n, 'POST /probe', '\\x00', 201, '[]', '', now() - interval '1s'
        FROM generate_series(1, 25) AS n""")
    await db_conn.execute("UPDATE kernel.idempotency_keys SET expires_at = now() - interval '1s'"
                          " WHERE caller LIKE 'user:%'")
    # Expired: the key is free again, the new request runs and takes the record over.
    response = await client.post("/probe", json={"note": "new"}, headers=headers())
    assert response.status_code == 201 and "idempotent-replayed" not in response.headers
    assert await effects(db_conn) == ["old", "new"]
    assert await idempotency.purge_expired(app.state.db, batch=10) == 25
    assert await records(db_conn) == 1


async def test_every_hundredth_stored_record_purges_in_the_background(client, headers, db_conn,
                                                                      monkeypatch):
    await db_conn.execute("""
        INSERT INTO kernel.idempotency_keys
            (caller, key, endpoint, fingerprint, status, headers, body, expires_at)
        SELECT 'ip:old', 'k' || n, 'POST /probe', '\\x00', 201, '[]', '', now() - interval '1s'
        FROM generate_series(1, 5) AS n""")
    monkeypatch.setattr(idempotency.Idempotency, "stored", idempotency.PURGE_EVERY - 1)
    response = await client.post("/probe", json={"note": "hundredth"}, headers=headers())
    assert response.status_code == 201

    async def only_the_live_record_left() -> bool:
        return await records(db_conn) == 1

    await eventually(only_the_live_record_left)


async def test_an_oversized_body_is_413_before_any_work(client, headers, db_conn):
    big = msgspec.json.encode({"note": "x" * (1024 * 1024)})
    response = await client.post("/probe", content=big, headers={
        **headers(), "Content-Type": "application/json"})
    problem(response, 413, "payload-too-large")
    assert await records(db_conn) == 0


def test_the_caller_is_the_user_or_else_the_client_address():
    user = Principal(user_id=USER, role="customer")
    assert idempotency.caller_of({"user": user}) == f"user:{USER}"
    assert idempotency.caller_of({"client": ("10.0.0.7", 5000)}) == "ip:10.0.0.7"
