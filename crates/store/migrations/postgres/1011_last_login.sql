-- When an account last logged in: the credit office reviews dormant accounts (GB/T 22239-2019
-- 8.1.4.2 d) — 应及时删除或停用多余的、过期的账户). NULL until the next login. Paired with
-- sqlite/1011.
ALTER TABLE accounts ADD COLUMN last_login_at TIMESTAMPTZ;
