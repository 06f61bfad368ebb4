-- The credit-repair commitments registered before migration 12 (as pushed batches of the
-- handling unit, under the name the platform gives them) are the subjects' too: moved to the
-- channel the unit cannot withdraw. Its own step, after 12 has committed the wider CHECK.
UPDATE submissions SET channel = 'case'
 WHERE channel = 'api' AND class_code = 'CN' AND file_name = '信用修复承诺';
-- Paired with sqlite/0013.
