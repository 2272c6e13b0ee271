-- INTENTIONALLY BROKEN: the second statement below is not valid SQL (its parenthesis is never
-- closed). It is here to show that the pipeline records the parse error for that statement,
-- with its line, and still extracts lineage from the valid statements before and after it.
CREATE OR REPLACE VIEW staging.stg_active_products AS
SELECT product_id, sku, product_name, category_path, list_price
FROM staging.stg_products
WHERE is_active;

CREATE TABLE staging.stg_discount_codes AS
SELECT discount_code, COUNT(*) AS times_used
FROM staging.stg_orders
WHERE discount_code IS NOT NULL AND (order_status <> 'cancelled'
GROUP BY discount_code;

CREATE OR REPLACE VIEW staging.stg_open_orders AS
SELECT order_id, customer_id, order_status, ordered_at
FROM staging.stg_orders
WHERE order_status IN ('pending', 'shipped');
