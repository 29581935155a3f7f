"""The HTTP ceiling's server: a trivial JSON endpoint on quart-trio under
hypercorn, configured as trioserver serves (``python -m bench.compare.ping_app
--port N``). ``GET /ping`` answers ``{}``; ``PUT /ping`` parses its JSON
body first, as a message send would."""

from __future__ import annotations

import argparse
import logging

import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from quart import request
from quart_trio import QuartTrio

app = QuartTrio(__name__)


@app.get("/ping")
async def ping() -> dict[str, object]:
    return {}


@app.put("/ping")
async def ping_body() -> dict[str, object]:
    body = await request.get_json(force=True)
    return {"keys": len(body)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    config = Config()
    config.bind = [f"127.0.0.1:{args.port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.keep_alive_timeout = 75
    trio.run(serve, app, config)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
