-- Issue #14: who uploaded which image (a quota and a rate per admin; images no campaign uses are
-- removed a day after their upload), and wrong fallback codes per person (at most 5 an hour).

CREATE TABLE uploads (
    -- The file's name under DATA_DIR/uploads (what `/uploads/{name}` serves).
    name               TEXT PRIMARY KEY,
    admin_id           TEXT NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
    bytes              BIGINT NOT NULL,
    created_at         BIGINT NOT NULL
);
CREATE INDEX uploads_admin ON uploads (admin_id, created_at);
CREATE INDEX uploads_created ON uploads (created_at);

-- Wrong codes a person typed, one row per event (an event processed twice counts once); rows
-- older than an hour are dropped as new ones come.
CREATE TABLE code_misses (
    subscriber_id      TEXT NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    event_key          TEXT NOT NULL,
    at                 BIGINT NOT NULL,
    PRIMARY KEY (subscriber_id, event_key)
);
