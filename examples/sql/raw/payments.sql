-- Source tables: payment attempts and refunds, exported daily from the payment provider.
CREATE TABLE raw.payments (
    payment_id       VARCHAR(64)   NOT NULL,
    order_id         BIGINT        NOT NULL,
    payment_method   VARCHAR(30)   NOT NULL,
    status           VARCHAR(20)   NOT NULL,
    amount_cents     BIGINT        NOT NULL,
    currency         CHAR(3)       NOT NULL,
    created_at       TIMESTAMP     NOT NULL,
    PRIMARY KEY (payment_id)
);

CREATE TABLE raw.refunds (
    refund_id        VARCHAR(64)   NOT NULL,
    payment_id       VARCHAR(64)   NOT NULL,
    amount_cents     BIGINT        NOT NULL,
    reason           VARCHAR(100),
    refunded_at      TIMESTAMP     NOT NULL,
    PRIMARY KEY (refund_id)
);
