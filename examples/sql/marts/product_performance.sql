-- Product performance over completed and shipped orders, ranked within each root category.
CREATE TABLE IF NOT EXISTS marts.product_performance (
    product_id        BIGINT,
    product_name      VARCHAR(255),
    root_category     VARCHAR(100),
    units_sold        BIGINT,
    orders            BIGINT,
    net_sales         DECIMAL(16, 2),
    gross_margin      DECIMAL(16, 2),
    category_rank     INT,
    snapshot_date     DATE
);

DELETE FROM marts.product_performance WHERE snapshot_date = CURRENT_DATE;

INSERT INTO marts.product_performance
SELECT
    p.product_id,
    p.product_name,
    p.root_category,
    SUM(i.quantity)                                            AS units_sold,
    COUNT(DISTINCT i.order_id)                                 AS orders,
    SUM(i.net_amount)                                          AS net_sales,
    SUM(i.net_amount - i.quantity * COALESCE(i.unit_cost, p.unit_cost)) AS gross_margin,
    RANK() OVER (PARTITION BY p.root_category ORDER BY SUM(i.net_amount) DESC) AS category_rank,
    CURRENT_DATE                                               AS snapshot_date
FROM staging.stg_order_items AS i
JOIN marts.dim_products AS p
    ON p.product_id = i.product_id
WHERE i.order_id IN (
    SELECT order_id
    FROM marts.fct_orders
    WHERE order_status IN ('completed', 'shipped')
)
GROUP BY p.product_id, p.product_name, p.root_category;
