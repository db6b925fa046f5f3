-- With whom each printer and virtual printer is shared; no row: the whole tenant (every
-- printer starts so, and existing printers stay so until an administrator narrows it).
CREATE TABLE sharing (
    subject_id   uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('printer', 'virtual_printer')),
    revision     integer NOT NULL,
    shared_with  jsonb NOT NULL
);

-- The groups of auth.groups and their direct members (shared.readmodels.groups).
CREATE TABLE user_groups (
    id                uuid PRIMARY KEY,
    tenant_id         uuid NOT NULL,
    revision          integer NOT NULL,
    member_user_ids   uuid[] NOT NULL,
    member_group_ids  uuid[] NOT NULL,
    deleted           boolean NOT NULL DEFAULT false
);
CREATE INDEX user_groups_tenant_id ON user_groups (tenant_id);
