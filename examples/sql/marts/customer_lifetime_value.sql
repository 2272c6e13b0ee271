-- Customer lifetime value: net revenue (orders minus refunds) per customer, average order value,
-- a naive three-year projection and the customer's value decile. This is the table `make demo`
-- traces upstream: dim_customers and fct_orders -> staging -> raw.
CREATE TABLE IF NOT EXISTS marts.customer_lifetime_value (
    customer_id           BIGINT,
    email                 VARCHAR(320),
    customer_segment      VARCHAR(20),
    first_order_date      DATE,
    last_activity_date    DATE,
    order_count           INT,
    gross_revenue         DECIMAL(14, 2),
    refunded_amount       DECIMAL(14, 2),
    net_revenue           DECIMAL(14, 2),
    avg_order_value       DECIMAL(14, 2),
    projected_3y_value    DECIMAL(14, 2),
    value_decile          INT,
    calculated_at         TIMESTAMP
);

DELETE FROM marts.customer_lifetime_value;

INSERT INTO marts.customer_lifetime_value (
    customer_id, email, customer_segment, first_order_date, last_activity_date, order_count,
    gross_revenue, refunded_amount, net_revenue, avg_order_value, projected_3y_value,
    value_decile, calculated_at
)
WITH ledger AS (
    SELECT f.customer_id, f.order_date AS activity_date, f.net_revenue AS amount, 'order' AS entry_type
    FROM marts.fct_orders AS f
    WHERE f.order_status <> 'cancelled'

    UNION ALL

    SELECT f.customer_id, r.refund_date, -r.refund_amount, 'refund'
    FROM staging.stg_refunds AS r
    JOIN marts.fct_orders AS f
        ON f.order_id = r.order_id
),
per_customer AS (
    SELECT
        customer_id,
        MAX(activity_date)                                              AS last_activity_date,
        COUNT(CASE WHEN entry_type = 'order' THEN 1 END)                AS order_count,
        SUM(CASE WHEN entry_type = 'order' THEN amount ELSE 0 END)      AS gross_revenue,
        -SUM(CASE WHEN entry_type = 'refund' THEN amount ELSE 0 END)    AS refunded_amount,
        SUM(amount)                                                     AS net_revenue
    FROM ledger
    GROUP BY customer_id
)
SELECT
    d.customer_id,
    d.email,
    d.customer_segment,
    d.first_order_date,
    p.last_activity_date,
    p.order_count,
    p.gross_revenue,
    p.refunded_amount,
    p.net_revenue,
    p.net_revenue / NULLIF(p.order_count, 0)                             AS avg_order_value,
    p.net_revenue * 3 * 365.0
        / GREATEST(CURRENT_DATE - d.first_order_date, 30)                AS projected_3y_value,
    NTILE(10) OVER (ORDER BY p.net_revenue DESC)                         AS value_decile,
    CURRENT_TIMESTAMP                                                    AS calculated_at
FROM marts.dim_customers AS d
JOIN per_customer AS p
    ON p.customer_id = d.customer_id;
