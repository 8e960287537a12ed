-- A message's status changes four times on its way (queued, sending, sent, delivered; read a
-- fifth), and every index holding `status` rewrites an entry at each change: with the indexes by
-- campaign and by notice holding it, that was most of the pages a notice's message dirtied on
-- SQLite (issue #19; fan-out CPU 0.98 -> 0.78 ms a message on one Page). They keep the ids only:
-- the notice panel's counts by status then read the rows (62 ms every 2 s at 100,000 messages,
-- against 10), and the campaign's failures get a partial index of their own, which only a
-- failing message enters. The index by person keeps `status`: the entrants list and its export
-- count each person's failures from it alone.
DROP INDEX outgoing_messages_campaign;
CREATE INDEX outgoing_messages_campaign ON outgoing_messages (campaign_id);
DROP INDEX outgoing_messages_notice;
CREATE INDEX outgoing_messages_notice ON outgoing_messages (notice_id) WHERE notice_id IS NOT NULL;
CREATE INDEX outgoing_messages_problems ON outgoing_messages (campaign_id, updated_at)
    WHERE status IN ('failed', 'not_sent');
-- A person's messages are found by the index by person (its first column); ordering them by
-- `sent_at` was never asked. A message has no id from Meta until sent: the index of ids need not
-- hold the unsent ones.
DROP INDEX outgoing_messages_subscriber;
DROP INDEX outgoing_messages_mid;
CREATE INDEX outgoing_messages_mid ON outgoing_messages (message_id) WHERE message_id IS NOT NULL;
