"""Catalog: the products for sale. Publishes ProductCreated and ProductUpdated."""

from features.catalog.create_product.handler import create_product
from features.catalog.get_product.handler import get_product
from features.catalog.list_categories.handler import list_categories
from features.catalog.list_products.handler import list_products
from features.catalog.update_product.handler import update_product
from shared.modules import Module

module = Module(
    name="catalog",
    routes=[create_product, get_product, list_categories, list_products, update_product],
)
