-- Issue #17: the entrants list, disqualification, erasure, the campaign's eligibility and consent,
-- and Meta's data deletion requests.

-- How an entry came: page (the entry page), widget (the embed), qr (the QR code of the entry
-- page's link, scanned on a phone), direct (an m.me link forwarded to someone who never saw the
-- entry page). Entries from before this column came from the entry page or the widget: 'page'.
ALTER TABLE entries ADD COLUMN source TEXT NOT NULL DEFAULT 'page';
-- entries.status also holds 'disqualified' (the admin's reason below; reinstating makes it
-- 'confirmed' again) and 'erased' (the person's data is gone; the row stays so counts and a
-- drawn ticket keep their place).
ALTER TABLE entries ADD COLUMN disqualified_reason TEXT;
ALTER TABLE entries ADD COLUMN disqualified_at BIGINT;
ALTER TABLE entries ADD COLUMN erased_at BIGINT;
-- The entrants list pages through a campaign's entries newest or oldest first, all of them or
-- one state's, by keyset (created_at, id): each page is an index range, at any depth.
CREATE INDEX entries_list ON entries (campaign_id, created_at, id);
CREATE INDEX entries_state_list ON entries (campaign_id, status, created_at, id);

-- A subscriber whose data was erased keeps its row (messages sent to it keep their counts) but
-- no PSID, name or keyword: the PSID becomes 'erased:<row id>'.
ALTER TABLE subscribers ADD COLUMN erased_at BIGINT;

-- Eligibility and consent, shown with the rules on the entry page and /c/{slug}/rules.
-- Minimum age in years (NULL: the rules say nothing about age).
ALTER TABLE campaigns ADD COLUMN min_age BIGINT;
-- Countries of residence allowed, ISO 3166-1 alpha-2 codes separated by commas ('' = any).
ALTER TABLE campaigns ADD COLUMN countries TEXT NOT NULL DEFAULT '';
-- 1: the entrant ticks "I accept the rules" before the Subscribe button works.
ALTER TABLE campaigns ADD COLUMN consent_checkbox BIGINT NOT NULL DEFAULT 0;

-- Requests to erase a person's data: from Meta's Data Deletion Request Callback (by app-scoped
-- id), from Messenger (the DELETE MY DATA keyword) or by an admin from the entrants list. The
-- public status page /deletion/{code} reads `summary`, which names no person.
CREATE TABLE deletion_requests (
    code               TEXT PRIMARY KEY,
    -- facebook | messenger | admin
    origin             TEXT NOT NULL,
    requested_at       BIGINT NOT NULL,
    completed_at       BIGINT,
    -- What was erased, in plain words.
    summary            TEXT NOT NULL DEFAULT ''
);
