-- Groups of users inside a tenant, and the groups they hold (membership is transitive,
-- never circular: the handlers refuse a change that would make a group contain itself).
CREATE TABLE groups (
    id                uuid PRIMARY KEY,
    tenant_id         uuid NOT NULL,
    name              text NOT NULL,
    source            text NOT NULL CHECK (source IN ('local', 'identity_provider')),
    member_user_ids   uuid[] NOT NULL DEFAULT '{}',
    member_group_ids  uuid[] NOT NULL DEFAULT '{}',
    revision          integer NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX groups_tenant_name_key ON groups (tenant_id, lower(name));
CREATE INDEX groups_member_user_ids ON groups USING gin (member_user_ids);
