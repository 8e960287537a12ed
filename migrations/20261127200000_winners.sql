-- Issue #16: a draw anyone can verify. Owned by `app/src/winners/`, the only code that names these
-- columns.

-- The campaign's draw settings (the editor's "Winners" part): how many win, how many alternates
-- wait behind them, the hours a winner has to claim, and whether the draw is made at the end
-- (auto) or when the admin says (manual).
ALTER TABLE campaigns ADD COLUMN winners_count BIGINT NOT NULL DEFAULT 1;
ALTER TABLE campaigns ADD COLUMN alternates_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN claim_hours BIGINT NOT NULL DEFAULT 72;
ALTER TABLE campaigns ADD COLUMN draw_mode TEXT NOT NULL DEFAULT 'auto';

-- The secret seed a campaign commits to when it is published. Sealed like Page tokens (the
-- campaign id is its associated data); its SHA-256, the commitment, is public from then on and
-- never changes. The seed is revealed (on the results) only once the draw is made.
CREATE TABLE draw_seeds (
    campaign_id        TEXT PRIMARY KEY REFERENCES campaigns(id) ON DELETE CASCADE,
    seed_sealed        TEXT NOT NULL,
    commitment         TEXT NOT NULL,
    created_at         BIGINT NOT NULL
);

-- The public ticket of a confirmed entry: short, random, unique within its campaign.
CREATE TABLE tickets (
    entry_id           TEXT PRIMARY KEY REFERENCES entries(id) ON DELETE CASCADE,
    campaign_id        TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    ticket             TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    UNIQUE (campaign_id, ticket)
);

-- A campaign's draw: the frozen list (its hash and size), then the draw's outcome.
CREATE TABLE draws (
    campaign_id        TEXT PRIMARY KEY REFERENCES campaigns(id) ON DELETE CASCADE,
    -- frozen (the list is fixed, the draw not made yet) | drawn
    state              TEXT NOT NULL,
    frozen_at          BIGINT NOT NULL,
    list_hash          TEXT NOT NULL,
    ticket_count       BIGINT NOT NULL,
    winners_wanted     BIGINT NOT NULL,
    alternates_wanted  BIGINT NOT NULL,
    claim_hours        BIGINT NOT NULL,
    drawn_at           BIGINT,
    -- The published results (`draws::DrawResults` as JSON), redraws included: the source of
    -- truth for who holds which prize; `winners` follows it, with claims and deadlines.
    results            TEXT
);

-- The frozen list, one row per eligible ticket, and, once drawn, each ticket's place in the
-- draw's full order (0 = first winner).
CREATE TABLE draw_tickets (
    campaign_id        TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    ticket             TEXT NOT NULL,
    entry_id           TEXT REFERENCES entries(id) ON DELETE SET NULL,
    place              BIGINT,
    PRIMARY KEY (campaign_id, ticket)
);
CREATE INDEX draw_tickets_place ON draw_tickets (campaign_id, place);

-- The prizes as they stand: who holds each rank now, and what happened to those before them.
CREATE TABLE winners (
    campaign_id        TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    -- The place in the draw's order this row walked to (the first winners hold 0..N-1).
    place              BIGINT NOT NULL,
    -- The prize rank it holds (1..N).
    prize_rank         BIGINT NOT NULL,
    ticket             TEXT NOT NULL,
    entry_id           TEXT REFERENCES entries(id) ON DELETE SET NULL,
    -- won (told or to be told) | claimed | passed (unclaimed by the deadline) | disqualified
    status             TEXT NOT NULL,
    reason             TEXT,
    claim_deadline     BIGINT,
    claimed_at         BIGINT,
    ended_at           BIGINT,
    PRIMARY KEY (campaign_id, place)
);
CREATE INDEX winners_rank ON winners (campaign_id, prize_rank);
CREATE INDEX winners_deadline ON winners (status, claim_deadline);
