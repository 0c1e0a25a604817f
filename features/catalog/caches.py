"""The catalog's read caches (shared/cache.py): every slice that changes what they hold drops
it with `caches.invalidate(tx, SPEC, key)` in its transaction, so every process drops it when
the change commits."""

from __future__ import annotations

from uuid import UUID

from shared.cache import CacheSpec

# GET /v1/products/{id}: the encoded body and ETag of each product read, keyed by its id.
PRODUCTS = CacheSpec("catalog.products", key=UUID)
# GET /v1/categories: one entry, the encoded list; dropped on a create or a category change.
CATEGORIES = CacheSpec("catalog.categories", ttl=lambda s: s.category_cache_ttl,
                       max_entries=lambda s: 1, max_bytes=lambda s: s.product_cache_max_bytes)
CATEGORIES_KEY = "all"
# GET /v1/products: each page's encoded body and Link, keyed by the request's exact query
# string. A create or an update can change any page, so writers drop them all (EVERY_KEY).
# A crawler walking deep cursors fills at most this many pages, not the product cache's bound.
PAGES = CacheSpec("catalog.pages", key=str,
                  max_entries=lambda s: min(s.product_cache_max_entries, 1_000))
