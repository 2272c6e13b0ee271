-- dialect: databricks
-- Daily revenue with a trailing 7-day average, rewritten in full by INSERT OVERWRITE.
CREATE TABLE IF NOT EXISTS marts.daily_revenue (
    order_date         DATE,
    orders             BIGINT,
    customers          BIGINT,
    gross_revenue      DECIMAL(16, 2),
    net_revenue        DECIMAL(16, 2),
    net_revenue_7d_avg DECIMAL(16, 2)
)
USING DELTA
PARTITIONED BY (order_date);

INSERT OVERWRITE TABLE marts.daily_revenue
SELECT
    order_date,
    orders,
    customers,
    gross_revenue,
    net_revenue,
    AVG(net_revenue) OVER (ORDER BY order_date ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS net_revenue_7d_avg
FROM (
    SELECT
        order_date,
        COUNT(DISTINCT order_id)     AS orders,
        COUNT(DISTINCT customer_id)  AS customers,
        SUM(gross_revenue)           AS gross_revenue,
        SUM(net_revenue)             AS net_revenue
    FROM marts.fct_orders
    WHERE order_status IN ('completed', 'shipped')
      AND order_date >= date_sub(current_date(), 400)
    GROUP BY order_date
) AS daily;
