-- Remove internal test accounts (flagged in the source, or on the example.com domain) from the
-- marts so they never reach dashboards.
DELETE FROM marts.fct_orders
WHERE customer_id IN (
    SELECT customer_id
    FROM staging.stg_customers
    WHERE is_test_account OR email LIKE '%@example.com'
);

DELETE FROM marts.customer_lifetime_value
WHERE customer_id IN (
    SELECT customer_id
    FROM raw.customers
    WHERE is_test_account
)
   OR email LIKE '%@example.com';

DELETE FROM staging.stg_web_events
WHERE customer_id IN (SELECT customer_id FROM raw.customers WHERE is_test_account);
