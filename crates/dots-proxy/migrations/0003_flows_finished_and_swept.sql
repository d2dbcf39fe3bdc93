-- The reconciliation sweep (issue 24): which flows are finished (every step asked for is
-- complete: no need to ask Dots again) and when each was last looked at, so a sweep takes the
-- longest-unseen unfinished flows first. Flows of earlier versions start unfinished and unseen;
-- the first sweep marks the finished ones from what is stored, without calling Dots.
ALTER TABLE flows ADD COLUMN finished BIGINT NOT NULL DEFAULT 0;
ALTER TABLE flows ADD COLUMN swept_ms BIGINT NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS flows_unfinished ON flows (finished, swept_ms);
