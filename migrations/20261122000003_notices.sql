-- Notices: the end-of-campaign notice and admins' "notify subscribers of this change", each
-- fanned out to every subscriber of its campaign through outgoing_messages.
CREATE TABLE notices (
    id                 TEXT PRIMARY KEY,
    campaign_id        TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    -- end_notice | update_notice
    kind               TEXT NOT NULL,
    -- Update notices: the admin's text. End notices: the campaign's notice text, copied when the
    -- fan-out starts (edits until then still count).
    text               TEXT NOT NULL DEFAULT '',
    send_at            BIGINT NOT NULL,
    -- scheduled | sending | cancelled
    status             TEXT NOT NULL DEFAULT 'scheduled',
    -- How many subscribers it was queued for, once the fan-out started.
    recipients         BIGINT,
    started_at         BIGINT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX notices_campaign ON notices (campaign_id);

-- Which notice a message belongs to (NULL for confirmations).
ALTER TABLE outgoing_messages ADD COLUMN notice_id TEXT;
CREATE INDEX outgoing_messages_notice ON outgoing_messages (notice_id, status);
-- The Page sender takes the next due notice messages of its Page.
CREATE INDEX outgoing_messages_queue ON outgoing_messages (page_id, status, next_attempt_at);
-- Delivery webhooks name the messages they confirm.
CREATE INDEX outgoing_messages_mid ON outgoing_messages (message_id);

-- A running job asked to go round once more (new work arrived while it was finishing).
ALTER TABLE jobs ADD COLUMN wake BIGINT NOT NULL DEFAULT 0;

-- Each Page's utility template for notices outside the 24-hour window, and Meta's review of it.
CREATE TABLE page_templates (
    page_id            TEXT NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    language           TEXT NOT NULL,
    template_id        TEXT,
    -- PENDING | APPROVED | REJECTED | PAUSED | DISABLED
    status             TEXT NOT NULL,
    reason             TEXT,
    updated_at         BIGINT NOT NULL,
    PRIMARY KEY (page_id, name, language)
);
