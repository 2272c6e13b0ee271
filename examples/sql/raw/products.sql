-- Source tables: the product catalogue and its category tree (categories nest via parent_category_id).
CREATE TABLE raw.product_categories (
    category_id         INT          NOT NULL,
    parent_category_id  INT,
    category_name       VARCHAR(100) NOT NULL,
    PRIMARY KEY (category_id)
);

CREATE TABLE raw.products (
    product_id       BIGINT        NOT NULL,
    sku              VARCHAR(64)   NOT NULL,
    product_name     VARCHAR(255)  NOT NULL,
    category_id      INT,
    list_price       DECIMAL(12, 2),
    unit_cost        DECIMAL(12, 2),
    is_active        BOOLEAN       DEFAULT TRUE,
    created_at       TIMESTAMP     NOT NULL,
    PRIMARY KEY (product_id)
);
