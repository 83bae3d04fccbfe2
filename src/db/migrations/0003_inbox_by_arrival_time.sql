
-- The last hour's throughput (admin page, metrics) and the retention sweep read the inbox by time.
CREATE INDEX inbox_received_idx ON forcehook.inbox (received_at);
