-- Products with their full category path ("Home > Kitchen > Knives"), resolved by walking the
-- category tree from the roots down with a recursive CTE.
CREATE TABLE staging.stg_products AS
WITH RECURSIVE category_tree AS (
    SELECT
        category_id,
        category_name,
        CAST(category_name AS VARCHAR(1000)) AS category_path,
        category_name                        AS root_category,
        1                                    AS depth
    FROM raw.product_categories
    WHERE parent_category_id IS NULL

    UNION ALL

    SELECT
        child.category_id,
        child.category_name,
        CAST(parent.category_path || ' > ' || child.category_name AS VARCHAR(1000)),
        parent.root_category,
        parent.depth + 1
    FROM raw.product_categories AS child
    JOIN category_tree AS parent
        ON child.parent_category_id = parent.category_id
    WHERE parent.depth < 10
)
SELECT
    p.product_id,
    UPPER(p.sku)                                  AS sku,
    p.product_name,
    p.category_id,
    COALESCE(t.category_path, 'Uncategorised')   AS category_path,
    COALESCE(t.root_category, 'Uncategorised')   AS root_category,
    p.list_price,
    p.unit_cost,
    p.list_price - p.unit_cost                    AS unit_margin,
    COALESCE(p.is_active, TRUE)                   AS is_active,
    CAST(p.created_at AS DATE)                    AS created_date
FROM raw.products AS p
LEFT JOIN category_tree AS t
    ON t.category_id = p.category_id;
