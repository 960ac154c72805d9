-- orchard events from Kafka into ClickHouse, through ClickHouse's Kafka
-- table engine. Sensors run with:
--   orchard --kafka-brokers kafka:9092 --kafka-topic orchard ...
-- (the default --kafka-format ndjson: orchard's own flow, dns, finding and
-- capture events, one JSON object a record, keyed by Community ID, with the
-- sensor's name in the record header orchard-sensor).
--
-- The Kafka table reads every record once for the consumer group; the
-- materialized views below split the stream by event type into MergeTree
-- tables. Times are RFC 3339 strings in the events; the views parse them.
-- Not run against a ClickHouse server in orchard's tests: check the
-- settings against your ClickHouse version.

CREATE DATABASE IF NOT EXISTS orchard;

CREATE TABLE IF NOT EXISTS orchard.kafka_events
(
    type            LowCardinality(String),
    -- flow and finding fields
    proto           LowCardinality(String),
    client          String,
    client_port     UInt16,
    server          String,
    port            UInt16,
    community_id    String,
    client_mac      String,
    process         LowCardinality(String),
    state           LowCardinality(String),
    first           String,
    last            String,
    duration        Float64,
    packets_client  UInt64,
    packets_server  UInt64,
    bytes_client    UInt64,
    bytes_server    UInt64,
    syn_retries     UInt32,
    rst_by          LowCardinality(String),
    sni             String,
    tls_version     LowCardinality(String),
    ja4             String,
    cert_subject    String,
    cert_issuer     String,
    http_host       String,
    host            String,
    name_source     LowCardinality(String),
    service         LowCardinality(String),
    section         LowCardinality(String),
    apple           Bool,
    findings        Array(String),
    -- finding fields
    finding         LowCardinality(String),
    severity        LowCardinality(String),
    count           UInt64,
    evidence        String,
    advice          String,
    -- dns fields
    ts              String,
    query           String,
    qtype           LowCardinality(String),
    rcode           LowCardinality(String),
    answers         Array(Tuple(name String, type String, ttl UInt32, data String))
    -- the sensor comes from the record header orchard-sensor (_headers)
)
ENGINE = Kafka
SETTINGS
    kafka_broker_list = 'kafka:9092',
    kafka_topic_list = 'orchard',
    kafka_group_name = 'clickhouse-orchard',
    kafka_format = 'JSONEachRow',
    kafka_handle_error_mode = 'stream',
    input_format_skip_unknown_fields = 1;

CREATE TABLE IF NOT EXISTS orchard.flows
(
    sensor       LowCardinality(String),
    first        DateTime64(6, 'UTC'),
    last         DateTime64(6, 'UTC'),
    community_id String,
    proto        LowCardinality(String),
    client       String,
    client_port  UInt16,
    client_mac   String,
    process      LowCardinality(String),
    server       String,
    port         UInt16,
    state        LowCardinality(String),
    bytes_client UInt64,
    bytes_server UInt64,
    sni          String,
    tls_version  LowCardinality(String),
    ja4          String,
    cert_issuer  String,
    host         String,
    name_source  LowCardinality(String),
    section      LowCardinality(String),
    apple        Bool,
    findings     Array(String)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(first)
ORDER BY (sensor, first, community_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS orchard.flows_mv TO orchard.flows AS
SELECT _headers.value[indexOf(_headers.name, 'orchard-sensor')] AS sensor,
       parseDateTime64BestEffort(first, 6) AS first, parseDateTime64BestEffort(last, 6) AS last,
       community_id, proto, client, client_port, client_mac, process, server, port, state,
       bytes_client, bytes_server, sni, tls_version, ja4, cert_issuer, host, name_source, section, apple, findings
FROM orchard.kafka_events
WHERE type = 'flow' AND length(_error) = 0;

CREATE TABLE IF NOT EXISTS orchard.findings
(
    sensor       LowCardinality(String),
    first        DateTime64(6, 'UTC'),
    last         DateTime64(6, 'UTC'),
    finding      LowCardinality(String),
    severity     LowCardinality(String),
    host         String,
    section      LowCardinality(String),
    service      LowCardinality(String),
    client       String,
    process      LowCardinality(String),
    server       String,
    port         UInt16,
    proto        LowCardinality(String),
    community_id String,
    count        UInt64,
    evidence     String,
    advice       String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(first)
ORDER BY (sensor, finding, host, first);

CREATE MATERIALIZED VIEW IF NOT EXISTS orchard.findings_mv TO orchard.findings AS
SELECT _headers.value[indexOf(_headers.name, 'orchard-sensor')] AS sensor,
       parseDateTime64BestEffort(first, 6) AS first, parseDateTime64BestEffort(last, 6) AS last,
       finding, severity, host, section, service, client, process, server, port, proto, community_id, count, evidence, advice
FROM orchard.kafka_events
WHERE type = 'finding' AND length(_error) = 0;

CREATE TABLE IF NOT EXISTS orchard.dns
(
    sensor       LowCardinality(String),
    ts           DateTime64(6, 'UTC'),
    community_id String,
    client       String,
    server       String,
    query        String,
    qtype        LowCardinality(String),
    rcode        LowCardinality(String),
    answers      Array(Tuple(name String, type String, ttl UInt32, data String))
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (sensor, query, ts);

CREATE MATERIALIZED VIEW IF NOT EXISTS orchard.dns_mv TO orchard.dns AS
SELECT _headers.value[indexOf(_headers.name, 'orchard-sensor')] AS sensor,
       parseDateTime64BestEffort(ts, 6) AS ts, community_id, client, server, query, qtype, rcode, answers
FROM orchard.kafka_events
WHERE type = 'dns' AND length(_error) = 0;

-- Records ClickHouse could not parse, to look at rather than lose.
CREATE TABLE IF NOT EXISTS orchard.kafka_errors
(
    topic     String,
    partition UInt64,
    offset    UInt64,
    raw       String,
    error     String
)
ENGINE = MergeTree
ORDER BY (topic, partition, offset);

CREATE MATERIALIZED VIEW IF NOT EXISTS orchard.kafka_errors_mv TO orchard.kafka_errors AS
SELECT _topic AS topic, _partition AS partition, _offset AS offset, _raw_message AS raw, _error AS error
FROM orchard.kafka_events
WHERE length(_error) > 0;

-- Which Apple findings hit the most sensors this week:
--   SELECT finding, host, uniqExact(sensor) AS sensors, uniqExact(client) AS devices, sum(count) AS n
--   FROM orchard.findings WHERE first > now() - INTERVAL 7 DAY
--   GROUP BY finding, host ORDER BY sensors DESC, devices DESC LIMIT 20;
