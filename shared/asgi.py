"""The ASGI entry point granian workers import: `shared.asgi:app`."""

from shared.app import create_app

app = create_app()
