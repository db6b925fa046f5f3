-- The groups of auth.groups and their direct members (shared.readmodels.groups), for
-- the accounting export's rows per group.
CREATE TABLE user_groups (
    id                uuid PRIMARY KEY,
    tenant_id         uuid NOT NULL,
    revision          integer NOT NULL,
    member_user_ids   uuid[] NOT NULL,
    member_group_ids  uuid[] NOT NULL,
    deleted           boolean NOT NULL DEFAULT false
);
CREATE INDEX user_groups_tenant_id ON user_groups (tenant_id);
