from __future__ import annotations

from psycopg.rows import args_row

from features.catalog.schema import PRODUCT_COLUMNS, Product
from shared.db import Tx
from shared.http.pagination import PageQuery

# Keyset on the UUIDv7 primary key (time-ordered), newest first. One statement per shape
# rather than `(%s IS NULL OR id < %s)`, which a generic prepared plan cannot turn into an
# index range: a deep page would scan every newer row. The pkey serves the plain list,
# products_category_id (category, id) the filtered one.
_SELECT = f"SELECT {PRODUCT_COLUMNS} FROM catalog.products"
FIRST_PAGE = f"{_SELECT} ORDER BY id DESC LIMIT %s"
NEXT_PAGE = f"{_SELECT} WHERE id < %s ORDER BY id DESC LIMIT %s"
FIRST_PAGE_IN = f"{_SELECT} WHERE category = %s ORDER BY id DESC LIMIT %s"
NEXT_PAGE_IN = f"{_SELECT} WHERE category = %s AND id < %s ORDER BY id DESC LIMIT %s"


async def list_products(conn: Tx, page: PageQuery, category: str | None) -> list[Product]:
    # Each row straight into a Product, its columns in the struct's order (PRODUCT_COLUMNS):
    # no dict per row to build and convert again (about 55 us less for a page of 21).
    cur = conn.cursor(row_factory=args_row(Product))
    if category is None:
        query, params = (FIRST_PAGE, ()) if page.after is None else (NEXT_PAGE, (page.after,))
        await cur.execute(query, (*params, page.fetch))
    else:
        query, params = ((FIRST_PAGE_IN, (category,)) if page.after is None
                         else (NEXT_PAGE_IN, (category, page.after)))
        # Never prepared: a generic plan cannot know how rare the category is and walks the
        # pkey filtering rows (280 ms for a rare one in 1M rows); planned for the actual value,
        # it reads products_category_id (0.07 ms).
        await cur.execute(query, (*params, page.fetch), prepare=False)
    return await cur.fetchall()
