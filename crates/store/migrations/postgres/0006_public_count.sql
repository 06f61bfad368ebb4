-- The portal's headline figures count the records public today, per class, every few minutes:
-- from this index alone (covering: the filtered columns are in it), instead of a row lookup for
-- each of millions of records.
CREATE INDEX records_public ON records (class_code, public_ends, change, published)
    WHERE change IN ('created', 'corrected') AND published;
