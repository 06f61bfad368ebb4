-- The joint jobs ask every few seconds what changed since their last look: list entries and
-- registrations (legal representatives) by class and update time, without reading the class.
CREATE INDEX records_class_updated ON records (class_code, updated_at);
-- The portal's name index asks the same of subjects.
CREATE INDEX subjects_updated ON subjects (updated_at);
