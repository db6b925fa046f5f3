-- With whom printers and virtual printers are shared (from registry's *.sharing_changed;
-- no row: the whole tenant) and the groups of auth.groups (shared.readmodels).
CREATE TABLE sharing (
    subject_id   uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('printer', 'virtual_printer')),
    revision     integer NOT NULL,
    shared_with  jsonb NOT NULL
);

CREATE TABLE user_groups (
    id                uuid PRIMARY KEY,
    tenant_id         uuid NOT NULL,
    revision          integer NOT NULL,
    member_user_ids   uuid[] NOT NULL,
    member_group_ids  uuid[] NOT NULL,
    deleted           boolean NOT NULL DEFAULT false
);
CREATE INDEX user_groups_tenant_id ON user_groups (tenant_id);

-- Users' roles, so a login at a printer knows an administrator (not limited by sharing).
ALTER TABLE users ADD COLUMN roles text[] NOT NULL DEFAULT '{}';
