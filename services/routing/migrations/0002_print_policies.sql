-- Print policies (per tenant, group or printer), their versions, and the groups read
-- model (kept from auth.groups) that says which group policies apply to whom.

CREATE TABLE groups (
    group_id          uuid PRIMARY KEY,
    tenant_id         uuid NOT NULL,
    revision          integer NOT NULL,
    name              text,
    member_user_ids   uuid[] NOT NULL DEFAULT '{}',
    member_group_ids  uuid[] NOT NULL DEFAULT '{}',
    deleted           boolean NOT NULL DEFAULT false
);
CREATE INDEX groups_tenant ON groups (tenant_id) WHERE NOT deleted;

-- A tenant's policy version: +1 with every change of any of its policies.
CREATE TABLE print_policy_versions (
    tenant_id  uuid PRIMARY KEY,
    version    integer NOT NULL CHECK (version >= 1)
);

CREATE TABLE print_policies (
    policy_id   uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL,
    name        text NOT NULL,
    scope       text NOT NULL CHECK (scope IN ('tenant', 'group', 'printer')),
    subject_id  uuid,
    rules       jsonb NOT NULL,
    revision    integer NOT NULL CHECK (revision >= 1),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text NOT NULL,
    UNIQUE (tenant_id, name),
    CHECK ((scope = 'tenant') = (subject_id IS NULL))
);

-- Every revision of every policy, with the tenant version it made (rules NULL: deleted).
CREATE TABLE print_policy_history (
    policy_id   uuid NOT NULL,
    revision    integer NOT NULL,
    tenant_id   uuid NOT NULL,
    version     integer NOT NULL,
    name        text NOT NULL,
    scope       text NOT NULL,
    subject_id  uuid,
    rules       jsonb,
    at          timestamptz NOT NULL DEFAULT now(),
    by          text NOT NULL,
    PRIMARY KEY (policy_id, revision)
);
CREATE INDEX print_policy_history_version ON print_policy_history (tenant_id, version);

-- What the policies decided for a job (at its first decision): the tenant's policy
-- version then, the settings they changed, or the refusal.
ALTER TABLE decisions
    ADD COLUMN policy_version  integer,
    ADD COLUMN adjustments     jsonb NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN refusal         jsonb;
ALTER TABLE jobs ADD COLUMN policy_version integer;
