"""The ETag of a single read, as daprd sends it: in an `Etag` header (Go's canonical
casing). Missed, every read-modify-write after a `get` would be unconditional."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestServer

from shared.dapr.sidecar import DaprSidecar


async def test_get_reads_the_etag_header_whatever_its_casing() -> None:
    async def state(request: web.Request) -> web.Response:
        return web.json_response({"v": 1}, headers={"Etag": "42"})

    app = web.Application()
    app.router.add_get("/v1.0/state/kv/{key}", state)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    assert server.port is not None
    sidecar = DaprSidecar(http_port=server.port, pubsub="pubsub", secret_store="s")
    try:
        item = await sidecar.state("kv").get("k")
    finally:
        await sidecar.aclose()
        await server.close()
    assert item is not None
    assert (item.value, item.etag) == ({"v": 1}, "42")
