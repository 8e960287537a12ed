-- Issue #16: winners are told on Messenger through the notices' queue. A message of its own
-- (a winner's: their ticket, prize and deadline) carries its text here; other notice messages
-- keep reading their notice's text.
ALTER TABLE outgoing_messages ADD COLUMN body TEXT;

-- The prize of each rank, one per line (line 1 for rank 1); empty lines and ranks past the
-- last line get the campaign's prize.
ALTER TABLE campaigns ADD COLUMN prizes_by_rank TEXT NOT NULL DEFAULT '';
