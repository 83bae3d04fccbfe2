
-- Every index on the inbox is paid on every event stored. Listing by flow reads the arrival-time
-- index (migration 3) and filters; the (flow, received_at) index did not earn its cost.
DROP INDEX forcehook.inbox_flow_idx;
