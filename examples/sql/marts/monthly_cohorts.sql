-- dialect: postgres
-- Monthly retention cohorts: for each cohort (month of the first order) and each later month,
-- how many of the cohort's customers ordered. The month grid comes from generate_series.
DROP TABLE IF EXISTS marts.monthly_cohorts;

CREATE TABLE marts.monthly_cohorts AS
WITH cohorts AS (
    SELECT customer_id, date_trunc('month', order_date)::date AS cohort_month
    FROM marts.fct_orders
    WHERE customer_order_number = 1
),
activity AS (
    SELECT DISTINCT customer_id, date_trunc('month', order_date)::date AS activity_month
    FROM marts.fct_orders
    WHERE order_status <> 'cancelled'
),
cohort_sizes AS (
    SELECT cohort_month, count(*) AS cohort_size
    FROM cohorts
    GROUP BY cohort_month
)
SELECT
    c.cohort_month,
    m.activity_month::date                                                   AS activity_month,
    (extract(year FROM age(m.activity_month, c.cohort_month)) * 12
        + extract(month FROM age(m.activity_month, c.cohort_month)))::int   AS months_since_first_order,
    max(s.cohort_size)                                                       AS cohort_size,
    count(DISTINCT a.customer_id)                                            AS active_customers,
    round(count(DISTINCT a.customer_id)::numeric / max(s.cohort_size), 4)    AS retention_rate
FROM cohorts AS c
JOIN cohort_sizes AS s
    ON s.cohort_month = c.cohort_month
CROSS JOIN generate_series(date '2023-01-01', date_trunc('month', current_date), interval '1 month') AS m(activity_month)
LEFT JOIN activity AS a
    ON a.customer_id = c.customer_id
   AND a.activity_month = m.activity_month::date
WHERE m.activity_month >= c.cohort_month
GROUP BY c.cohort_month, m.activity_month;
