-- dialect: postgres
-- One-off migration: the v1 revenue and order summary tables were replaced by
-- marts.daily_revenue and marts.fct_orders; keep them under archive names for a quarter.
ALTER TABLE marts.daily_revenue_v1 RENAME TO daily_revenue_archive_2024;

ALTER TABLE marts.order_summary_v1 RENAME TO order_summary_archive_2024;
