-- Nightly correction: orders refunded in full are marked 'returned' in the fact table, and
-- customer country codes changed in the source system since the last dimension build are patched.
UPDATE marts.fct_orders AS f
SET order_status = 'returned',
    updated_at   = CURRENT_TIMESTAMP
FROM (
    SELECT order_id, SUM(refund_amount) AS refunded
    FROM staging.stg_refunds
    GROUP BY order_id
) AS r
WHERE f.order_id = r.order_id
  AND r.refunded >= f.net_revenue
  AND f.order_status <> 'returned';

UPDATE marts.dim_customers AS d
SET country_code = UPPER(c.country_code)
FROM raw.customers AS c
WHERE c.customer_id = d.customer_id
  AND c.country_code IS NOT NULL
  AND UPPER(c.country_code) <> d.country_code;
