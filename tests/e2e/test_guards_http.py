"""Guards over real HTTP: bodies too large are refused with 413 before any route reads them (declared or
streamed), the public endpoints are rate limited with 429 and Retry-After, per carrier key for carriers,
and the OpenAPI description says so."""

from __future__ import annotations


def test_a_body_too_large_is_refused_before_the_route_reads_it(server):
    big = b"{" + b" " * (1024 * 1024 + 10) + b"}"
    r = server.http.post("/api/v1/etias/applications", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/problems/payload-too-large")
    # A crossing may carry images: 2 MiB is fine there (it is then judged on its content) ...
    r = server.http.post("/api/v1/border/entries", content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                         headers={"content-type": "application/json"})
    assert r.status_code == 422
    # ... and a body that streams in without a length is cut off when it passes the limit.

    def chunks():
        for _ in range(40):
            yield b" " * 65536

    r = server.http.post("/api/v1/etias/applications", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_public_endpoints_are_rate_limited_and_carriers_each_have_their_own_budget(server):
    for i in range(10):
        assert server.http.post("/login", data={"csrf": "x"}).status_code == 403, i  # (the form is refused)
    r = server.http.post("/login", data={"csrf": "x"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert r.json()["type"].endswith("/problems/too-many-requests")


def test_each_carrier_key_has_its_own_budget():
    """The limiter alone, on a tiny app with a rule of 3 a minute per key."""
    import asyncio
    import re

    from limits import parse

    from smartborders.api.guards import RateLimit, Rule

    async def ok(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    guard = RateLimit(ok, rules=(Rule("carriers", frozenset({"POST"}), re.compile(r"^/c$"), parse("3/minute"),
                                      by_key=True),))

    async def call(key: bytes) -> int:
        out: list[int] = []

        async def send(m):
            if m["type"] == "http.response.start":
                out.append(m["status"])

        scope = {"type": "http", "method": "POST", "path": "/c", "client": ("10.0.0.1", 1),
                 "headers": [(b"authorization", key)]}
        await guard(scope, None, send)
        return out[0]

    async def run():
        return [await call(b"Bearer A") for _ in range(4)] + [await call(b"Bearer B")]

    # On a thread of its own: a browser test before this one in the same process (Playwright's sync API)
    # leaves an event loop running on the main thread, where asyncio.run refuses to start another.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, run()).result() == [200, 200, 200, 429, 200]


def test_the_openapi_description_documents_413_and_429(server):
    spec = server.http.get("/openapi.json").json()["paths"]
    assert "429" in spec["/api/v1/etias/carrier-checks"]["post"]["responses"]
    assert "413" in spec["/api/v1/border/entries"]["post"]["responses"]
    assert "429" not in spec["/api/v1/border/entries"]["post"]["responses"]


def test_a_purge_as_of_a_day_out_of_range_is_refused_not_a_500(server):
    r = server.http.post("/api/v1/retention/purges", params={"as_of": "0001-01-01", "dry_run": "true"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
