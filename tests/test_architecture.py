"""Architecture rules that are tests, not conventions."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import sys

from litestar.routes import HTTPRoute

from shared.http.pacing import Paced
from shared.modules import discover
from tests.fixtures import problem

SAMPLE_ID = "01890a5d-ac96-774b-bcce-b302099a8057"


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", SAMPLE_ID, path)


async def test_every_route_not_marked_public_answers_401_without_a_token(app, client) -> None:
    checked = 0
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if "OPTIONS" in handler.http_methods:  # public: it only lists the path's methods,
                assert handler.handler_name == "options_handler"  # and Litestar answers it
                continue
            if handler.opt.get("public") or route.path.startswith("/schema"):
                continue
            for method in handler.http_methods:
                response = await client.request(method, concrete(route.path), json={})
                problem(response, 401, "unauthenticated")
                assert response.headers["www-authenticate"].startswith("Bearer")
                checked += 1
    assert checked >= 3  # the walk really walked (me, users, logout at least)


def test_public_routes_are_exactly_the_ones_meant_to_be(app) -> None:
    public = {(m, r.path) for r in app.routes if isinstance(r, HTTPRoute)
              for h in r.route_handlers if h.opt.get("public") for m in h.http_methods}
    expected_anonymous = {("POST", "/v1/users"), ("POST", "/v1/auth/token"),
                          ("POST", "/v1/auth/refresh"),
                          ("GET", "/v1/auth/oidc/{provider:str}/authorize"),
                          ("GET", "/v1/auth/oidc/{provider:str}/callback"),
                          # the payment provider's webhooks: signed instead (receive_webhook)
                          ("POST", "/v1/webhooks/payments")}
    assert expected_anonymous <= public
    for method, path in public:
        # anything else public must be an operational endpoint or a catalog/inventory read
        assert (path.startswith(("/health", "/metrics")) or (method, path) in expected_anonymous
                or (method == "GET" and path.startswith(("/v1/products", "/v1/inventory",
                                                         "/v1/categories")))), path


def test_every_module_has_a_manifest_and_versioned_routes() -> None:
    for module in discover():
        for handler in module.routes:
            for path in handler.paths:
                assert path.startswith("/v1/"), f"{module.name}: {path} is not versioned"


def test_nothing_on_a_route_hops_to_a_thread(app) -> None:
    """Litestar runs a plain-function guard, and a handler or dependency marked
    `sync_to_thread`, in a worker thread: a thread hop and a GIL hand-over per request, for
    code that never blocks here. Every guard is a coroutine function, no handler or provider
    asks for a thread (a blocking call belongs in the slice's own `to_thread`, visibly)."""
    walked = 0
    for route in app.routes:
        for handler in route.route_handlers:
            for layer in handler.ownership_layers:
                for guard in layer.guards or []:
                    assert inspect.iscoroutinefunction(guard), (route.path, guard)
            assert not getattr(handler, "sync_to_thread", None), route.path
            for name, provider in handler.resolve_dependencies().items():
                assert not provider.sync_to_thread, (route.path, name)
            walked += 1
    assert walked >= 30


def _publishes(module_name: str) -> bool:
    """Whether a handler's module publishes events, itself or through a module of its own
    feature that it imports (payments' ledger)."""
    source = inspect.getsource(sys.modules[module_name])
    if "publish(" in source:
        return True
    feature = ".".join(module_name.split(".")[:2])
    imported = re.findall(rf"^from {re.escape(feature)} import (.+)$", source, re.M)
    names = [n.strip() for line in imported for n in line.split(",")]
    return any("publish(" in inspect.getsource(importlib.import_module(f"{feature}.{n}"))
               for n in names if importlib.util.find_spec(f"{feature}.{n}") is not None)


def test_every_command_that_publishes_is_paced_before_anything_else(app) -> None:
    """A route whose handler publishes events sets the relays work, so it waits for them while
    they are behind (shared/http/pacing.py): with `Paced()` as its outermost route middleware,
    so that a waiting request holds no idempotency record and no connection."""
    paced, publishing = set(), set()
    for route in app.routes:
        for handler in route.route_handlers:
            if not handler.fn.__module__.startswith("features."):
                continue
            name = f"{sorted(handler.http_methods)[0]} {route.path}"
            layers = handler.middleware or []
            if any(isinstance(m, Paced) for m in layers):
                assert isinstance(layers[0], Paced), f"{name}: Paced() is not outermost"
                paced.add(name)
            if _publishes(handler.fn.__module__):
                publishing.add(name)
    assert publishing >= {"POST /v1/orders", "POST /v1/webhooks/payments"}  # the scan sees
    # A sign-in's last redirect publishes UserRegistered once per new user: a person waits in
    # a browser for it, and sign-ins are not what outruns the relays.
    assert paced == publishing - {"GET /v1/auth/oidc/{provider:str}/callback"}
