from __future__ import annotations

from typing import Any

from shared.db import Tx

# On a large catalog the planner reads products_category_id (category, id) as an index-only
# scan, already grouped by category: no sort, no heap. A small one it reads whole (a few ms).
# Either way it counts every product: ~0.26 s at 1M here, once per miss (EXPLAIN: README).
COUNT_BY_CATEGORY = """
SELECT category, count(*) AS product_count FROM catalog.products
GROUP BY category ORDER BY category"""


async def count_by_category(conn: Tx) -> list[dict[str, Any]]:
    cur = await conn.execute(COUNT_BY_CATEGORY)
    return await cur.fetchall()
