from __future__ import annotations

from collections.abc import Iterable

from features.ordering.track_prices import logic
from features.ordering.track_prices.logic import Price
from shared.db import Tx

# A newer version replaces an older one, never the reverse: ProductCreated (version 1) and
# ProductUpdated travel in two lanes and may arrive in either order, or twice (logic.then,
# spelled out). One row per product (logic.newest sees to that), locked in product id order.
UPSERT_PRICES = """
INSERT INTO ordering.product_prices AS p (product_id, price_cents, currency, version, updated_at)
SELECT n.product_id, n.price_cents, n.currency, n.version, now()
FROM unnest(%(product_ids)s::uuid[], %(prices)s::bigint[], %(currencies)s::text[],
            %(versions)s::integer[]) AS n(product_id, price_cents, currency, version)
ORDER BY n.product_id
ON CONFLICT (product_id) DO UPDATE SET
    price_cents = excluded.price_cents, currency = excluded.currency,
    version = excluded.version, updated_at = excluded.updated_at
WHERE p.version < excluded.version"""


async def upsert_prices(tx: Tx, batch: Iterable[Price]) -> None:
    """What each of `batch` says of its product's price, as if learned in turn: one
    statement."""
    rows = logic.newest(batch)
    await tx.execute(UPSERT_PRICES, {
        "product_ids": [r.product_id for r in rows], "prices": [r.price_cents for r in rows],
        "currencies": [r.currency for r in rows], "versions": [r.version for r in rows]})
