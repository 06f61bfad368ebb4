-- When a published article's text was last changed, for the portal's 更新日期 (updated_at also
-- moves when it is published or withdrawn). NULL: not edited since it was first published.
-- Paired with sqlite/0014.
ALTER TABLE articles ADD COLUMN edited_at TIMESTAMPTZ;
