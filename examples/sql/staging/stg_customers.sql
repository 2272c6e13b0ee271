-- One row per customer: the storefront occasionally re-creates an account with the same email,
-- so keep only the most recently updated account per normalised email address.
CREATE OR REPLACE VIEW staging.stg_customers AS
WITH normalised AS (
    SELECT
        customer_id,
        LOWER(TRIM(email))                        AS email,
        INITCAP(TRIM(first_name))                 AS first_name,
        INITCAP(TRIM(last_name))                  AS last_name,
        UPPER(COALESCE(country_code, 'XX'))       AS country_code,
        COALESCE(signup_source, 'unknown')        AS signup_source,
        COALESCE(is_test_account, FALSE)          AS is_test_account,
        CAST(created_at AS DATE)                  AS signup_date,
        updated_at
    FROM raw.customers
),
ranked AS (
    SELECT
        normalised.*,
        ROW_NUMBER() OVER (PARTITION BY email ORDER BY updated_at DESC, customer_id DESC) AS row_num
    FROM normalised
)
SELECT
    customer_id,
    email,
    first_name,
    last_name,
    country_code,
    signup_source,
    is_test_account,
    signup_date,
    updated_at
FROM ranked
WHERE row_num = 1;
