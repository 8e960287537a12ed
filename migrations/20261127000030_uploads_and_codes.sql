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

-- Wrong codes this person typed since `code_misses_since` (a one-hour window from the first).
ALTER TABLE subscribers ADD COLUMN code_misses BIGINT NOT NULL DEFAULT 0;
ALTER TABLE subscribers ADD COLUMN code_misses_since BIGINT NOT NULL DEFAULT 0;
