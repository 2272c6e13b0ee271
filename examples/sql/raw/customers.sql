-- Source table: customer accounts, replicated nightly from the storefront database.
CREATE TABLE raw.customers (
    customer_id      BIGINT       NOT NULL,
    email            VARCHAR(320) NOT NULL,
    first_name       VARCHAR(100),
    last_name        VARCHAR(100),
    country_code     CHAR(2),
    signup_source    VARCHAR(50),
    is_test_account  BOOLEAN      DEFAULT FALSE,
    created_at       TIMESTAMP    NOT NULL,
    updated_at       TIMESTAMP    NOT NULL,
    PRIMARY KEY (customer_id)
);
