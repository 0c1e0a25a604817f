from __future__ import annotations

from uuid import UUID

from shared.db import Tx

# A newer version replaces an older one, never the reverse: ProductCreated (version 1) and
# ProductUpdated travel in two lanes and may arrive in either order, or twice.
UPSERT_PRICE = """
INSERT INTO ordering.product_prices AS p (product_id, price_cents, currency, version, updated_at)
VALUES (%s, %s, %s, %s, now())
ON CONFLICT (product_id) DO UPDATE SET
    price_cents = excluded.price_cents, currency = excluded.currency,
    version = excluded.version, updated_at = excluded.updated_at
WHERE p.version < excluded.version"""


async def upsert_price(tx: Tx, product_id: UUID, price_cents: int, currency: str,
                       version: int) -> None:
    await tx.execute(UPSERT_PRICE, (product_id, price_cents, currency, version))
