-- Incremental load of order lines: lines of orders touched in the last three days are deleted
-- and re-inserted, joined to the catalogue for the product's cost at load time.
CREATE TABLE IF NOT EXISTS staging.stg_order_items (
    order_item_id    BIGINT,
    order_id         BIGINT,
    product_id       BIGINT,
    quantity         INT,
    unit_price       DECIMAL(12, 2),
    discount_amount  DECIMAL(12, 2),
    gross_amount     DECIMAL(14, 2),
    net_amount       DECIMAL(14, 2),
    unit_cost        DECIMAL(12, 2)
);

DELETE FROM staging.stg_order_items
WHERE order_id IN (
    SELECT order_id
    FROM raw.orders
    WHERE updated_at >= CURRENT_DATE - INTERVAL '3' DAY
);

INSERT INTO staging.stg_order_items (
    order_item_id, order_id, product_id, quantity, unit_price,
    discount_amount, gross_amount, net_amount, unit_cost
)
SELECT
    oi.order_item_id,
    oi.order_id,
    oi.product_id,
    oi.quantity,
    oi.unit_price,
    COALESCE(oi.discount_amount, 0)                                    AS discount_amount,
    oi.quantity * oi.unit_price                                        AS gross_amount,
    oi.quantity * oi.unit_price - COALESCE(oi.discount_amount, 0)      AS net_amount,
    p.unit_cost
FROM raw.order_items AS oi
JOIN raw.orders AS o
    ON o.order_id = oi.order_id
LEFT JOIN raw.products AS p
    ON p.product_id = oi.product_id
WHERE o.updated_at >= CURRENT_DATE - INTERVAL '3' DAY
  AND oi.quantity > 0;
