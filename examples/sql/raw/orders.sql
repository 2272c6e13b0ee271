-- Source tables: order headers and their line items from the storefront database.
CREATE TABLE raw.orders (
    order_id         BIGINT        NOT NULL,
    customer_id      BIGINT        NOT NULL,
    status           VARCHAR(20)   NOT NULL,
    currency         CHAR(3)       NOT NULL,
    shipping_amount  DECIMAL(12, 2),
    discount_code    VARCHAR(40),
    ordered_at       TIMESTAMP     NOT NULL,
    updated_at       TIMESTAMP     NOT NULL,
    PRIMARY KEY (order_id)
);

CREATE TABLE raw.order_items (
    order_item_id    BIGINT        NOT NULL,
    order_id         BIGINT        NOT NULL,
    product_id       BIGINT        NOT NULL,
    quantity         INT           NOT NULL,
    unit_price       DECIMAL(12, 2) NOT NULL,
    discount_amount  DECIMAL(12, 2) DEFAULT 0,
    PRIMARY KEY (order_item_id)
);
