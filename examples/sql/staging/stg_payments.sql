-- dialect: postgres
-- Payments upserted by payment_id: the provider re-sends a payment whenever its status changes.
CREATE TABLE IF NOT EXISTS staging.stg_payments (
    payment_id      text PRIMARY KEY,
    order_id        bigint NOT NULL,
    payment_method  text NOT NULL,
    status          text NOT NULL,
    amount          numeric(14, 2) NOT NULL,
    currency        char(3) NOT NULL,
    paid_at         timestamptz NOT NULL,
    loaded_at       timestamptz NOT NULL DEFAULT now()
);

INSERT INTO staging.stg_payments AS tgt (
    payment_id, order_id, payment_method, status, amount, currency, paid_at
)
SELECT
    p.payment_id,
    p.order_id,
    lower(p.payment_method),
    lower(p.status),
    p.amount_cents / 100.0,
    upper(p.currency),
    p.created_at
FROM raw.payments AS p
WHERE p.created_at >= now() - interval '3 days'
ON CONFLICT (payment_id) DO UPDATE
SET status    = EXCLUDED.status,
    amount    = EXCLUDED.amount,
    loaded_at = now()
WHERE tgt.status IS DISTINCT FROM EXCLUDED.status;
