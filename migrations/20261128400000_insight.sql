-- Issue #18: the funnel, counted without tracking. Per campaign and quarter of an hour (every
-- time zone's hours and days are whole quarters, so the admin's own zone can be shown exactly),
-- per source (entry page, widget, QR, direct link), the embedding site's origin (widget) and
-- the link's `utm_source`: how many saw the page, tapped Subscribe, started an entry and
-- finished it in Messenger. Nothing about a person: no address, no cookie, no id.
CREATE TABLE funnel_counts (
    campaign_id TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    quarter     BIGINT NOT NULL,
    source      TEXT NOT NULL,
    origin      TEXT NOT NULL,
    utm_source  TEXT NOT NULL,
    views       BIGINT NOT NULL DEFAULT 0,
    taps        BIGINT NOT NULL DEFAULT 0,
    started     BIGINT NOT NULL DEFAULT 0,
    confirmed   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, quarter, source, origin, utm_source)
);

-- Where an entry came from beyond its source, so that its confirmation is counted where its
-- start was: the embedding site's origin and the link's `utm_source` ('' when none).
ALTER TABLE entries ADD COLUMN origin TEXT NOT NULL DEFAULT '';
ALTER TABLE entries ADD COLUMN utm_source TEXT NOT NULL DEFAULT '';
