-- Mirrors POST /v1/orders/{order_id}/payments with the provider taken out (the in-process
-- sandbox answers at once): features/payments/pay_order/sql.py and features/payments/ledger.py
-- in the three transactions the slice commits, each on a connection of its own in the app:
-- phase 1 (INSERT_PROCESSING, committed before the provider is called), phase 3 (the outcome:
-- _LOCK_ORDER, _SETTLE returning the payment, and PaymentSucceeded's _PUBLISH_MANY with the
-- COMMIT), and the kernel's idempotent transaction (@@begin/@@end-idempotent) with the slice's
-- reads (FIND_ORDER, FIND_FOR_REQUEST, FIND_LIVE, in one pipeline). pgbench has one connection
-- per client, so the idempotent transaction, which in the app stays open around both phases,
-- runs after them: the same statements, round trips and commits, in another order. The outcome
-- written is `failed` (a decline, with PaymentSucceeded's deliveries): a failed payment leaves
-- the law of one live payment per order, so a client pays its orders again and again, where
-- each HTTP request pays a fresh one; the reads look for a request that made no payment, as a
-- first request's do. Variables from the runner: caller, clients, orders (the mirror's own
-- confirmed orders, seeded with bench_order_id(1 .. orders)), space, traceparent,
-- subscriber_count. Client c pays the orders c+1, c+1+clients, ...: no two clients race for one
-- order.
\set r random(1, 9000000000000000)
\set key random(-2147483648, 2147483647)
\set o 1 + :client_id + :clients * random(0, (:orders - 1 - :client_id) / :clients)
SELECT s.*, bench_events('PaymentSucceeded', s.order_id, s.payload, :traceparent,
                         :subscriber_count) AS events, json_build_array(:key::integer)::text AS keys
FROM (SELECT bench_uuid7() AS id, o.order_id, o.user_id, o.total_cents AS amount_cents,
       o.currency, 'pm_card_visa' AS payment_method, sha256(('pay-' || :r)::bytea) AS request_key,
       sha256(('ask-' || :r)::bytea) AS asked_key, now() AS created_at, 'failed' AS status,
       'ch_pgb_' || :r AS charge_id, 'confirmed' AS order_status,
       '{"order_id": "0196f0e2-0000-7000-8000-000000000000", "payment_id": "0196f0e2-0000-7000-8000-000000000001", "user_id": "0196f0e2-0000-7000-8000-000000000002", "amount_cents": 1234, "currency": "EUR"}' AS payload,
       'pgb-' || :client_id || '-' || :r AS idem_key, 'POST /v1/orders/x/payments' AS endpoint,
       sha256(:r::text::bytea) AS fingerprint, 201 AS answer_status,
       '[["content-type", "application/json"]]' AS headers,
       '{"id": "0196f0e2-0000-7000-8000-000000000001", "order_id": "0196f0e2-0000-7000-8000-000000000000", "amount_cents": 1234, "currency": "EUR", "status": "succeeded", "decline_code": null, "created_at": "20261202T210000Z"}' AS body
      FROM payments.orders o WHERE o.order_id = bench_order_id(:o)) AS s
\gset
\startpipeline
BEGIN;
@features.payments.pay_order.sql:INSERT_PROCESSING
\endpipeline
@@commit
\startpipeline
BEGIN;
@features.payments.ledger:_LOCK_ORDER id
\endpipeline
@features.payments.ledger:_SETTLE
@@commit publishing
@@begin-idempotent
\startpipeline
@features.payments.pay_order.sql:FIND_ORDER order_id
@features.payments.pay_order.sql:FIND_FOR_REQUEST order_id asked_key
@features.payments.pay_order.sql:FIND_LIVE order_id
\endpipeline
@@end-idempotent
