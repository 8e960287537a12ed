-- Initial schema. Portable between SQLite and PostgreSQL (see app/src/db.rs):
-- ids are TEXT made by the application, times are BIGINT unix milliseconds, flags are BIGINT 0/1.
-- Never edit a migration once it has landed: add a new one.

-- People who log in to run campaigns, identified by their app-scoped Facebook user id.
CREATE TABLE admins (
    id                 TEXT PRIMARY KEY,
    facebook_user_id   TEXT NOT NULL UNIQUE,
    name               TEXT NOT NULL,
    -- Long-lived user token, encrypted (app/src/secrets.rs); NULL once revoked.
    user_token_enc     TEXT,
    user_token_expires_at BIGINT,
    granted_scopes     TEXT NOT NULL DEFAULT '',
    created_at         BIGINT NOT NULL,
    last_login_at      BIGINT
);

-- Facebook Pages connected to the product. One connection per Page.
CREATE TABLE pages (
    id                 TEXT PRIMARY KEY,
    facebook_page_id   TEXT NOT NULL UNIQUE,
    name               TEXT NOT NULL,
    username           TEXT,
    category           TEXT,
    -- Page access token, encrypted with the row id as associated data.
    access_token_enc   TEXT,
    -- unknown | valid | expired | revoked | restricted
    token_status       TEXT NOT NULL DEFAULT 'unknown',
    token_checked_at   BIGINT,
    data_access_expires_at BIGINT,
    enabled            BIGINT NOT NULL DEFAULT 1,
    -- Why sends to this Page are paused (token invalid, Page restricted); NULL when sending.
    paused_reason      TEXT,
    connected_by       TEXT REFERENCES admins(id),
    connected_at       BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);

-- Which admins may manage which Page, recomputed from /me/accounts at each login.
CREATE TABLE page_admins (
    page_id            TEXT NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    admin_id           TEXT NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
    -- Comma-separated Page tasks (MANAGE,CREATE_CONTENT,MODERATE,MESSAGING,...).
    tasks              TEXT NOT NULL,
    refreshed_at       BIGINT NOT NULL,
    PRIMARY KEY (page_id, admin_id)
);

CREATE TABLE campaigns (
    id                 TEXT PRIMARY KEY,
    page_id            TEXT NOT NULL REFERENCES pages(id),
    slug               TEXT NOT NULL UNIQUE,
    title              TEXT NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    prize              TEXT NOT NULL DEFAULT '',
    image_url          TEXT,
    starts_at          BIGINT NOT NULL,
    ends_at            BIGINT NOT NULL,
    time_zone          TEXT NOT NULL DEFAULT 'UTC',
    rules              TEXT NOT NULL DEFAULT '',
    require_login      BIGINT NOT NULL DEFAULT 0,
    confirmation_enabled BIGINT NOT NULL DEFAULT 0,
    confirmation_text  TEXT NOT NULL DEFAULT '',
    automation_keyword TEXT,
    notice_text        TEXT NOT NULL DEFAULT '',
    -- automatic (window, else utility template) | tag (CONFIRMED_EVENT_UPDATE)
    notice_path        TEXT NOT NULL DEFAULT 'automatic',
    -- On the tag path: fall back to the utility template when Meta refuses the tag.
    tag_fallback       BIGINT NOT NULL DEFAULT 1,
    -- draft | published | archived; scheduled/live/ended derive from this and the dates.
    publish_state      TEXT NOT NULL DEFAULT 'draft',
    created_by         TEXT REFERENCES admins(id),
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX campaigns_page ON campaigns (page_id);

-- A person reachable on Messenger through one Page (a PSID is page-scoped).
CREATE TABLE subscribers (
    id                 TEXT PRIMARY KEY,
    page_id            TEXT NOT NULL REFERENCES pages(id),
    psid               TEXT NOT NULL,
    first_name         TEXT,
    -- Last interaction that opened the 24-hour standard messaging window.
    last_interaction_at BIGINT NOT NULL,
    -- Set when Meta says the person cannot be reached (blocked the Page: 551 / 1545041).
    unreachable_at     BIGINT,
    unreachable_reason TEXT,
    created_at         BIGINT NOT NULL,
    UNIQUE (page_id, psid)
);

-- One entry per person per campaign.
CREATE TABLE entries (
    id                 TEXT PRIMARY KEY,
    campaign_id        TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    -- pending (link handed out) | confirmed (Messenger told us who it is)
    status             TEXT NOT NULL DEFAULT 'pending',
    -- Random part of the signed m.me ref; also what the fallback code is derived from.
    ref_nonce          TEXT NOT NULL UNIQUE,
    fallback_code      TEXT NOT NULL,
    subscriber_id      TEXT REFERENCES subscribers(id),
    -- App-scoped user id, when the campaign requires Facebook login.
    asid               TEXT,
    keyword            TEXT,
    created_at         BIGINT NOT NULL,
    confirmed_at       BIGINT,
    UNIQUE (campaign_id, subscriber_id),
    UNIQUE (campaign_id, asid),
    UNIQUE (campaign_id, fallback_code)
);

-- Every message the product sends, with its fate. dedupe_key makes each
-- (campaign, subscriber, notice) sendable at most once.
CREATE TABLE outgoing_messages (
    id                 TEXT PRIMARY KEY,
    dedupe_key         TEXT NOT NULL UNIQUE,
    page_id            TEXT NOT NULL REFERENCES pages(id),
    subscriber_id      TEXT NOT NULL REFERENCES subscribers(id),
    campaign_id        TEXT REFERENCES campaigns(id) ON DELETE SET NULL,
    -- confirmation | end_notice | update_notice
    kind               TEXT NOT NULL,
    -- queued | sending | sent | delivered | read | failed | not_sent
    status             TEXT NOT NULL DEFAULT 'queued',
    -- response | utility | tag
    path               TEXT,
    attempts           BIGINT NOT NULL DEFAULT 0,
    next_attempt_at    BIGINT,
    message_id         TEXT,
    error_code         BIGINT,
    error_subcode      BIGINT,
    error_reason       TEXT,
    created_at         BIGINT NOT NULL,
    sent_at            BIGINT,
    delivered_at       BIGINT,
    read_at            BIGINT,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX outgoing_messages_campaign ON outgoing_messages (campaign_id, status);
CREATE INDEX outgoing_messages_subscriber ON outgoing_messages (subscriber_id, sent_at);

-- Webhook events, stored before Meta gets its 200 and processed afterwards, idempotently.
CREATE TABLE webhook_events (
    id                 TEXT PRIMARY KEY,
    dedupe_key         TEXT NOT NULL UNIQUE,
    page_id            TEXT NOT NULL,
    sender_id          TEXT,
    kind               TEXT NOT NULL,
    event_timestamp    BIGINT NOT NULL,
    payload            TEXT NOT NULL,
    received_at        BIGINT NOT NULL,
    processed_at       BIGINT,
    error              TEXT
);
CREATE INDEX webhook_events_unprocessed ON webhook_events (processed_at, event_timestamp);

-- Durable jobs (end notices, retries), claimed with leases so several instances can share them.
CREATE TABLE jobs (
    id                 TEXT PRIMARY KEY,
    kind               TEXT NOT NULL,
    -- At most one live job per key, e.g. end_notice:<campaign id>.
    unique_key         TEXT NOT NULL UNIQUE,
    payload            TEXT NOT NULL DEFAULT '{}',
    run_at             BIGINT NOT NULL,
    -- pending | running | done | cancelled | failed
    status             TEXT NOT NULL DEFAULT 'pending',
    attempts           BIGINT NOT NULL DEFAULT 0,
    lease_owner        TEXT,
    lease_until        BIGINT,
    last_error         TEXT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (status, run_at);

-- Browser sessions (tower-sessions), so logins survive a restart.
CREATE TABLE sessions (
    id                 TEXT PRIMARY KEY,
    data               TEXT NOT NULL,
    expires_at         BIGINT NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);
