-- 0007: the W3C traceparent of the request that wrote the event (NULL when
-- the request had none); pms-relay puts it in the Kafka message's headers.
ALTER TABLE outbox ADD COLUMN traceparent text;
