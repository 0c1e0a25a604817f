from __future__ import annotations

from typing import Any

from shared.db import Tx

# Served by products_category_id (category, id): an index-only scan, already grouped by
# category, so no sort and no hash of the whole table (EXPLAIN in the README).
COUNT_BY_CATEGORY = """
SELECT category, count(*) AS product_count FROM catalog.products
GROUP BY category ORDER BY category"""


async def count_by_category(conn: Tx) -> list[dict[str, Any]]:
    cur = await conn.execute(COUNT_BY_CATEGORY)
    return await cur.fetchall()
