-- Issue #17: a person who sends STOP (or a word `OPT_OUT_WORDS` lists) to a Page gets no notice
-- of its campaigns until they write to it again or send START. Owned by `app/src/entries/`.
ALTER TABLE subscribers ADD COLUMN opted_out_at BIGINT;
