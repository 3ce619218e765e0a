async def test_health(api):
    r = await api.get("/api/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


async def test_unknown_route_uses_error_shape(api):
    r = await api.get("/api/nope")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


async def test_staff_factory(make_staff, session):
    user, token = await make_staff("agent")
    assert user.id and token
