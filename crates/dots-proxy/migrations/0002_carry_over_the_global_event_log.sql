-- A database from before the per-identity numbering (issue 15) kept its events in `events`,
-- numbered across all identities; its browsers resume with those numbers as `Last-Event-ID`.
-- For each identity the new log has never heard of, its old events move over under the same
-- numbers (still increasing per identity, so "everything after N" is exactly what the browser
-- missed), and its counter continues from the last of them. Identities already in the new log
-- keep it as it is (the old table was dead for them). Then the old table goes.

INSERT INTO identity_events (identity, seq, kind, data, created_ms)
SELECT e.identity, e.seq, e.kind, e.data, e.created_ms
FROM events e
WHERE NOT EXISTS (SELECT 1 FROM event_counters c WHERE c.identity = e.identity);

INSERT INTO event_counters (identity, last_seq)
SELECT e.identity, MAX(e.seq)
FROM events e
WHERE NOT EXISTS (SELECT 1 FROM event_counters c WHERE c.identity = e.identity)
GROUP BY e.identity;

DROP TABLE events;
