-- Issue #17: the entrants list and its CSV count each person's messages of the campaign, and how
-- many failed, once per row. This index answers both counts from the index alone (a million-row
-- export reads no message row).
CREATE INDEX outgoing_messages_person ON outgoing_messages (subscriber_id, campaign_id, status);
