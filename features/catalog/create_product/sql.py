from __future__ import annotations

import msgspec

from features.catalog.schema import Product
from shared.db import Tx

INSERT_PRODUCT = """
INSERT INTO catalog.products (id, sku, name, description, price_cents, currency, category,
                              version, created_at, updated_at)
VALUES (%(id)s, %(sku)s, %(name)s, %(description)s, %(price_cents)s, %(currency)s,
        %(category)s, %(version)s, %(created_at)s, %(updated_at)s)"""


async def insert_product(tx: Tx, product: Product) -> None:
    """Raises psycopg.errors.UniqueViolation when the SKU is taken."""
    await tx.execute(INSERT_PRODUCT, msgspec.structs.asdict(product))
