-- Refunds attributed to the order they pay back, in currency units rather than cents.
CREATE OR REPLACE VIEW staging.stg_refunds AS
SELECT
    r.refund_id,
    r.payment_id,
    p.order_id,
    r.amount_cents / 100.0             AS refund_amount,
    COALESCE(r.reason, 'unspecified')  AS refund_reason,
    r.refunded_at,
    CAST(r.refunded_at AS DATE)        AS refund_date
FROM raw.refunds AS r
JOIN raw.payments AS p
    ON p.payment_id = r.payment_id
WHERE r.amount_cents > 0;
