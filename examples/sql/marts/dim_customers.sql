-- Customer dimension: cleaned profile plus first/last order and a simple lifecycle segment.
DROP TABLE IF EXISTS marts.dim_customers;

CREATE TABLE marts.dim_customers AS
WITH order_stats AS (
    SELECT
        customer_id,
        MIN(order_date)  AS first_order_date,
        MAX(order_date)  AS last_order_date,
        COUNT(*)         AS lifetime_orders
    FROM marts.fct_orders
    WHERE order_status <> 'cancelled'
    GROUP BY customer_id
)
SELECT
    c.customer_id,
    c.email,
    c.first_name,
    c.last_name,
    c.country_code,
    c.signup_source,
    c.signup_date,
    s.first_order_date,
    s.last_order_date,
    COALESCE(s.lifetime_orders, 0) AS lifetime_orders,
    CASE
        WHEN s.first_order_date IS NULL                            THEN 'prospect'
        WHEN s.last_order_date < CURRENT_DATE - INTERVAL '365' DAY THEN 'lapsed'
        WHEN s.lifetime_orders >= 5                                THEN 'loyal'
        ELSE 'active'
    END AS customer_segment
FROM staging.stg_customers AS c
LEFT JOIN order_stats AS s
    ON s.customer_id = c.customer_id
WHERE NOT c.is_test_account;
