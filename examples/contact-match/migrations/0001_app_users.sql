-- The users of "your app" that the contact-match handler matches Contacts to, and that the app-users
-- push mapping upserts as Contacts. Until forcehook 0.1 core migration 2 created this table, so a
-- deployment that ran it already has it (with its rows): IF NOT EXISTS keeps them.
CREATE TABLE IF NOT EXISTS forcehook.app_users (
  id                     text        PRIMARY KEY DEFAULT gen_random_uuid()::text,
  email                  text        NOT NULL,
  name                   text,
  salesforce_contact_id  text,
  updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS app_users_email_idx ON forcehook.app_users (lower(email));
