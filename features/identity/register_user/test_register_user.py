from tests.fixtures import problem


async def test_smoke(client, api):
    user = await api.register(email="Ada@Example.com")
    assert user["email"] == "Ada@Example.com"
    r = await client.post("/v1/users", json={"email": "ada@example.com", "password": "12345678", "name": "x"})
    problem(r, 409, "conflict")
    tokens = await api.login("ADA@example.com")
    r = await client.get("/v1/users/me", headers={"Authorization": "Bearer " + tokens["access_token"]})
    assert r.status_code == 200, r.text
    print(r.headers)
