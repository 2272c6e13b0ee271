-- Product dimension: a thin view over the cleaned catalogue.
CREATE OR REPLACE VIEW marts.dim_products AS
SELECT
    product_id,
    sku,
    product_name,
    category_path,
    root_category,
    list_price,
    unit_cost,
    unit_margin,
    is_active
FROM staging.stg_products;
