-- dialect: bigquery
-- Sessions, orders and conversion rate per day over a gap-free calendar (days with no traffic
-- still get a row, from the GENERATE_DATE_ARRAY spine).
CREATE OR REPLACE TABLE `marts.daily_traffic` AS
WITH calendar AS (
    SELECT day
    FROM UNNEST(GENERATE_DATE_ARRAY(DATE '2023-01-01', CURRENT_DATE())) AS day
),
sessions AS (
    SELECT
        session_date                       AS day,
        COUNT(*)                           AS sessions,
        COUNT(DISTINCT anonymous_id)       AS visitors,
        COUNTIF(converted)                 AS converting_sessions,
        APPROX_TOP_COUNT(utm_source, 1)[SAFE_OFFSET(0)].value AS top_utm_source
    FROM `staging.stg_web_sessions`
    GROUP BY day
),
orders AS (
    SELECT order_date AS day, COUNT(*) AS orders, SUM(net_revenue) AS net_revenue
    FROM `marts.fct_orders`
    WHERE order_status != 'cancelled'
    GROUP BY day
)
SELECT
    c.day,
    IFNULL(s.sessions, 0)                         AS sessions,
    IFNULL(s.visitors, 0)                         AS visitors,
    IFNULL(o.orders, 0)                           AS orders,
    IFNULL(o.net_revenue, 0)                      AS net_revenue,
    SAFE_DIVIDE(s.converting_sessions, s.sessions) AS session_conversion_rate,
    s.top_utm_source
FROM calendar AS c
LEFT JOIN sessions AS s USING (day)
LEFT JOIN orders AS o USING (day);
