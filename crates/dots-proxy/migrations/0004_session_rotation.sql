-- Sessions that cannot be planted (issue 25). A browser session bound to a Dots user stays
-- usable only in the browser that created the flow which bound it: that browser holds the
-- flow's claim (a random secret in a cookie; its SHA-256 here), and on its next request the
-- session is rotated to a new cookie generation. A planted copy of the old cookie is then no
-- session at all. Identities bound by earlier versions have no `bound_by_flow` and keep
-- working as they did.
ALTER TABLE flows ADD COLUMN claim_hash TEXT;
ALTER TABLE identities ADD COLUMN bound_by_flow TEXT;
ALTER TABLE identities ADD COLUMN cookie_gen TEXT;
