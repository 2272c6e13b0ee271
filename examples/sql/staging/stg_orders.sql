-- Cleaned order headers: canonical status values, dates split out, shipping defaulted to zero.
-- Rebuilt in full on every run.
DROP TABLE IF EXISTS staging.stg_orders;

CREATE TABLE staging.stg_orders AS
WITH orders AS (
    SELECT
        order_id,
        customer_id,
        CASE LOWER(status)
            WHEN 'complete'  THEN 'completed'
            WHEN 'completed' THEN 'completed'
            WHEN 'shipped'   THEN 'shipped'
            WHEN 'canceled'  THEN 'cancelled'
            WHEN 'cancelled' THEN 'cancelled'
            WHEN 'returned'  THEN 'returned'
            ELSE 'pending'
        END                                AS order_status,
        UPPER(currency)                    AS currency,
        COALESCE(shipping_amount, 0)       AS shipping_amount,
        NULLIF(TRIM(discount_code), '')    AS discount_code,
        ordered_at,
        CAST(ordered_at AS DATE)           AS order_date,
        updated_at
    FROM raw.orders
    WHERE order_id IS NOT NULL
)
SELECT
    o.*,
    ROW_NUMBER() OVER (PARTITION BY o.customer_id ORDER BY o.ordered_at, o.order_id) AS customer_order_number
FROM orders AS o
WHERE o.customer_id IN (SELECT customer_id FROM raw.customers);
