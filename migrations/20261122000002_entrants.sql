-- Entrants: what the entry flow and the webhook inbox need beyond the initial schema.

-- A second entry by someone already entered (they found out only in Messenger who they are)
-- points at the first one, so the page can show that one instead.
ALTER TABLE entries ADD COLUMN duplicate_of TEXT;

-- Automation keywords a subscriber chose (quick-reply taps), one row per keyword.
CREATE TABLE subscriber_keywords (
    subscriber_id      TEXT NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    keyword            TEXT NOT NULL,
    tapped_at          BIGINT NOT NULL,
    PRIMARY KEY (subscriber_id, keyword)
);

-- The fallback path looks a code up among a Page's pending entries.
CREATE INDEX entries_code ON entries (fallback_code, status);
