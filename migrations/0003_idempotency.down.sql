DROP TABLE kernel.idempotency_keys;
