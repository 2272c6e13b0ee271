-- dialect: bigquery
-- Source table: clickstream events streamed from the web tracker into BigQuery.
-- event_params is a repeated key/value record, as in the GA4 export format.
CREATE TABLE `raw.web_events` (
    event_id         STRING    NOT NULL,
    session_id       STRING,
    anonymous_id     STRING,
    customer_id      INT64,
    event_name       STRING    NOT NULL,
    page_url         STRING,
    referrer         STRING,
    event_params     ARRAY<STRUCT<key STRING, value STRING>>,
    event_ts         TIMESTAMP NOT NULL
)
PARTITION BY DATE(event_ts)
CLUSTER BY event_name;
