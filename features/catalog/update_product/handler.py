"""PATCH /v1/products/{product_id}: an admin changes a product, given the version they read.

If-Match is required (428 without it); a stale one gets 412 with the current ETag. Every
successful update bumps the version and publishes ProductUpdated (ordering learns new prices),
and drops the product's cached read in every process when it commits (the category counts
too, when a category is sent).
"""

from __future__ import annotations

from uuid import UUID

import msgspec
from litestar import Response, patch
from litestar.params import FromPath, JSONBody

from features.catalog.caches import CATEGORIES, CATEGORIES_KEY, PAGES, PRODUCTS
from features.catalog.events import ProductUpdated
from features.catalog.schema import Product
from features.catalog.update_product import logic, sql
from features.catalog.update_product.schema import ProductChanges
from shared.auth.principal import admin_only
from shared.cache import EVERY_KEY
from shared.db.events import publish
from shared.http.concurrency import ETAG, IfMatchVersions, etag, precondition_failed
from shared.http.deps import Cached, Db
from shared.http.openapi import fed_by
from shared.http.pacing import Paced
from shared.http.problems import not_found
from shared.http.schema import problems


@patch("/v1/products/{product_id:uuid}", middleware=[Paced()], guards=[admin_only],
       operation_id="updateProduct",
       opt=fed_by(createProduct={"product_id": "$response.body#/id",
                                 "header.If-Match": "$response.header.ETag"}),
       tags=["catalog"], responses=problems(401, 403, 404, 412, 428), response_headers=[ETAG])
async def update_product(product_id: FromPath[UUID], data: JSONBody[ProductChanges], db: Db,
                         if_match: IfMatchVersions, caches: Cached) -> Response[Product]:
    """Change a product's name, description, price or category."""
    changes = logic.changes(data)
    async with db.transaction() as tx:
        row = await sql.update_product(tx, product_id, if_match, changes)
        if row is None:
            current = await sql.current_version(tx, product_id)
            if current is None:
                raise not_found("No such product.")
            raise precondition_failed(current)
        product = msgspec.convert(row, Product)
        await publish(tx, ProductUpdated(
            product_id=product.id, name=product.name, description=product.description,
            price_cents=product.price_cents, currency=product.currency,
            category=product.category, version=product.version))
        await caches.invalidate(tx, PRODUCTS, product.id)
        await caches.invalidate(tx, PAGES, EVERY_KEY)
        if changes.category is not None:
            await caches.invalidate(tx, CATEGORIES, CATEGORIES_KEY)
    return Response(product, headers={"ETag": etag(product.version)})
