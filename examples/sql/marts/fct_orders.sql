-- dialect: snowflake
-- One row per order with item, payment and discount totals, upserted with MERGE.
-- Table names are double-quoted lowercase on purpose: Snowflake folds unquoted identifiers to
-- UPPER case, and these tables were created lowercase by the other (case-preserving) loaders.
CREATE TABLE IF NOT EXISTS "marts"."fct_orders" (
    order_id          NUMBER(38, 0) NOT NULL,
    customer_id       NUMBER(38, 0) NOT NULL,
    order_status      VARCHAR,
    order_date        DATE,
    item_count        NUMBER(38, 0),
    gross_revenue     NUMBER(14, 2),
    discount_amount   NUMBER(14, 2),
    shipping_amount   NUMBER(14, 2),
    net_revenue       NUMBER(14, 2),
    amount_paid       NUMBER(14, 2),
    is_fully_paid     BOOLEAN,
    customer_order_number NUMBER(38, 0),
    updated_at        TIMESTAMP_NTZ
);

MERGE INTO "marts"."fct_orders" AS tgt
USING (
    WITH items AS (
        SELECT
            order_id,
            SUM(quantity)         AS item_count,
            SUM(gross_amount)     AS gross_revenue,
            SUM(discount_amount)  AS discount_amount,
            SUM(net_amount)       AS net_revenue
        FROM "staging"."stg_order_items"
        GROUP BY order_id
    ),
    paid AS (
        SELECT order_id, SUM(amount) AS amount_paid
        FROM "staging"."stg_payments"
        WHERE status = 'succeeded'
        GROUP BY order_id
    )
    SELECT
        o.order_id,
        o.customer_id,
        o.order_status,
        o.order_date,
        COALESCE(i.item_count, 0)                          AS item_count,
        COALESCE(i.gross_revenue, 0)                       AS gross_revenue,
        COALESCE(i.discount_amount, 0)                     AS discount_amount,
        o.shipping_amount,
        COALESCE(i.net_revenue, 0) + o.shipping_amount     AS net_revenue,
        COALESCE(p.amount_paid, 0)                         AS amount_paid,
        IFF(COALESCE(p.amount_paid, 0) >= COALESCE(i.net_revenue, 0) + o.shipping_amount, TRUE, FALSE) AS is_fully_paid,
        o.customer_order_number,
        o.updated_at::TIMESTAMP_NTZ                        AS updated_at
    FROM "staging"."stg_orders" AS o
    LEFT JOIN items AS i ON i.order_id = o.order_id
    LEFT JOIN paid  AS p ON p.order_id = o.order_id
) AS src
ON tgt.order_id = src.order_id
WHEN MATCHED AND src.updated_at > tgt.updated_at THEN UPDATE SET
    order_status    = src.order_status,
    item_count      = src.item_count,
    gross_revenue   = src.gross_revenue,
    discount_amount = src.discount_amount,
    shipping_amount = src.shipping_amount,
    net_revenue     = src.net_revenue,
    amount_paid     = src.amount_paid,
    is_fully_paid   = src.is_fully_paid,
    updated_at      = src.updated_at
WHEN NOT MATCHED THEN INSERT (
    order_id, customer_id, order_status, order_date, item_count, gross_revenue, discount_amount,
    shipping_amount, net_revenue, amount_paid, is_fully_paid, customer_order_number, updated_at
) VALUES (
    src.order_id, src.customer_id, src.order_status, src.order_date, src.item_count, src.gross_revenue,
    src.discount_amount, src.shipping_amount, src.net_revenue, src.amount_paid, src.is_fully_paid,
    src.customer_order_number, src.updated_at
);
