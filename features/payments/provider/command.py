"""`rampart payments-sandbox --port P`: serve the sandbox provider on its own port.

Point Rampart at it with PAYMENT_PROVIDER_URL=http://127.0.0.1:P; it signs its webhooks with
the same PAYMENT_WEBHOOK_SECRET (in development, the one generated under .data/) and POSTs them
to `--webhook-url` (e.g. http://127.0.0.1:8000/v1/webhooks/payments) when given.
"""

from __future__ import annotations

import os

import click


@click.command("payments-sandbox", help="Serve the sandbox payment provider (for development "
               "and tests): test payment methods, latency and failure injection, webhooks.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), required=True)
@click.option("--webhook-url", default=None, help="Where to POST signed webhook events.")
@click.pass_obj
def payments_sandbox(obj: object, host: str, port: int, webhook_url: str | None) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    from features.payments.gateway import webhook_secret
    from shared.logging import GRANIAN_LOGGING

    secret = webhook_secret(obj.settings)  # type: ignore[attr-defined]
    if secret is None:
        raise click.ClickException("PAYMENT_WEBHOOK_SECRET is required when APP_ENV=production")
    os.environ["PAYMENT_WEBHOOK_SECRET"] = secret
    if webhook_url:
        os.environ["SANDBOX_WEBHOOK_URL"] = webhook_url
    click.echo(f"payments sandbox on http://{host}:{port}", err=True)
    # One worker: the sandbox's record of charges lives in that process.
    Granian(target="features.payments.provider.sandbox_http:app", factory=True,
            interface=Interfaces.ASGI, address=host, port=port, workers=1, log_access=False,
            log_dictconfig=GRANIAN_LOGGING).serve()
