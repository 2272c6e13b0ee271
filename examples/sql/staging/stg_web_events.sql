-- dialect: bigquery
-- Deduplicated clickstream (the tracker retries, so event_id repeats) with the UTM parameters
-- pulled out of the repeated event_params record, then rolled up to one row per session.
CREATE OR REPLACE TABLE `staging.stg_web_events`
PARTITION BY event_date
AS
SELECT
    e.event_id,
    e.session_id,
    e.anonymous_id,
    e.customer_id,
    e.event_name,
    e.page_url,
    (SELECT p.value FROM UNNEST(e.event_params) AS p WHERE p.key = 'utm_source')   AS utm_source,
    (SELECT p.value FROM UNNEST(e.event_params) AS p WHERE p.key = 'utm_campaign') AS utm_campaign,
    e.event_ts,
    DATE(e.event_ts) AS event_date
FROM `raw.web_events` AS e
WHERE e.event_ts >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 400 DAY)
QUALIFY ROW_NUMBER() OVER (PARTITION BY e.event_id ORDER BY e.event_ts) = 1;

CREATE OR REPLACE VIEW `staging.stg_web_sessions` AS
SELECT
    session_id,
    ANY_VALUE(anonymous_id)                                   AS anonymous_id,
    MAX(customer_id)                                          AS customer_id,
    MIN(event_ts)                                             AS session_start,
    MAX(event_ts)                                             AS session_end,
    MIN(event_date)                                           AS session_date,
    COUNT(*)                                                  AS event_count,
    COUNTIF(event_name = 'page_view')                         AS page_views,
    LOGICAL_OR(event_name = 'purchase')                       AS converted,
    ARRAY_AGG(utm_source IGNORE NULLS ORDER BY event_ts LIMIT 1)[SAFE_OFFSET(0)] AS utm_source
FROM `staging.stg_web_events`
WHERE session_id IS NOT NULL
GROUP BY session_id;
