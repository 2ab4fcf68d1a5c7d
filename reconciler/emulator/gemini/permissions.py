"""Permissions on a tuned model: create, get, list, patch (role only), delete,
and transferOwnership, the only way to change the OWNER."""

from __future__ import annotations

from typing import Any

from reconciler.emulator.calls import Call, Reply
from reconciler.emulator.errors import (
    already_exists,
    failed_precondition,
    invalid_argument,
    not_found,
)
from reconciler.emulator.gemini import render
from reconciler.emulator.ids import IdMaker
from reconciler.emulator.paging import encode_token, page_body, page_request
from reconciler.emulator.records import PermissionRecord, TunedModelRecord
from reconciler.emulator.schema import PERMISSION, TRANSFER_OWNERSHIP, parse
from reconciler.emulator.store import Store, require


class PermissionService:
    def __init__(self, store: Store, ids: IdMaker) -> None:
        self.store = store
        self.ids = ids

    def create_permission(self, call: Call, model_id: str) -> Reply:
        body = parse(call.body, PERMISSION, "permission")
        grant = _new_grant(body, self.ids.token(12))

        def add(record: TunedModelRecord) -> TunedModelRecord:
            if any(_same_grantee(grant, other) for other in record.permissions):
                raise already_exists(f"A permission for this grantee already exists on {record.name}.")
            record.permissions.append(grant)
            return record

        record = self.store.mutate(model_id, add)
        return 200, render.permission(record, grant, call.enums)

    def get_permission(self, call: Call, model_id: str, permission_id: str) -> Reply:
        record = self._record(model_id)
        return 200, render.permission(record, _find(record, permission_id), call.enums)

    def list_permissions(self, call: Call, model_id: str) -> Reply:
        page = page_request(call.query, default_size=10, max_size=1000)
        record = self._record(model_id)
        end = page.position + page.size
        grants = [render.permission(record, g, call.enums) for g in record.permissions[page.position : end]]
        next_token = encode_token(end, page.filter) if end < len(record.permissions) else None
        return 200, page_body("permissions", grants, next_token)

    def update_permission(self, call: Call, model_id: str, permission_id: str) -> Reply:
        body = parse(call.body, PERMISSION, "permission")
        mask = call.query.get("updateMask") or ",".join(k for k in body if k != "name")
        if mask != "role":
            raise invalid_argument(
                'update_mask must be "role": the role is the only field of a permission that can be updated.',
                "update_mask",
            )
        role = body.get("role", "ROLE_UNSPECIFIED")
        _check_grantable(role)
        changed: list[PermissionRecord] = []

        def set_role(record: TunedModelRecord) -> TunedModelRecord:
            grant = _find(record, permission_id)
            if grant.role == "OWNER":
                raise failed_precondition("The owner's role changes only through transferOwnership.")
            grant.role = role
            changed.append(grant)
            return record

        record = self.store.mutate(model_id, set_role)
        return 200, render.permission(record, changed[0], call.enums)

    def delete_permission(self, call: Call, model_id: str, permission_id: str) -> Reply:
        def remove(record: TunedModelRecord) -> TunedModelRecord:
            grant = _find(record, permission_id)
            if grant.role == "OWNER":
                raise failed_precondition("The owner's permission cannot be deleted.")
            record.permissions.remove(grant)
            return record

        self.store.mutate(model_id, remove)
        return 200, {}

    def transfer_ownership(self, call: Call, model_id: str) -> Reply:
        body = parse(call.body, TRANSFER_OWNERSHIP)
        email = body.get("emailAddress", "")
        if not email:
            raise invalid_argument("email_address is required.", "email_address")
        new_id = self.ids.token(12)

        def transfer(record: TunedModelRecord) -> TunedModelRecord:
            # "The current owner will be downgraded to writer role."
            for grant in record.permissions:
                if grant.role == "OWNER" and grant.email_address != email:
                    grant.role = "WRITER"
            target = next(
                (g for g in record.permissions if g.grantee_type == "USER" and g.email_address == email), None
            )
            if target is None:
                record.permissions.append(PermissionRecord(new_id, "OWNER", "USER", email))
            else:
                target.role = "OWNER"
            return record

        self.store.mutate(model_id, transfer)
        return 200, {}

    def _record(self, model_id: str) -> TunedModelRecord:
        return require(self.store, model_id)


def _new_grant(body: dict[str, Any], permission_id: str) -> PermissionRecord:
    role = body.get("role", "ROLE_UNSPECIFIED")
    if role == "ROLE_UNSPECIFIED":
        raise invalid_argument("permission.role is required.", "permission.role")
    _check_grantable(role)
    email = body.get("emailAddress", "")
    grantee = body.get("granteeType", "GRANTEE_TYPE_UNSPECIFIED")
    if grantee == "GRANTEE_TYPE_UNSPECIFIED":
        grantee = "USER" if email else "EVERYONE"
    if grantee == "EVERYONE" and email:
        raise invalid_argument("email_address must not be set for grantee type EVERYONE.", "permission.email_address")
    if grantee != "EVERYONE" and not email:
        raise invalid_argument(f"email_address is required for grantee type {grantee}.", "permission.email_address")
    return PermissionRecord(permission_id, role, grantee, email)


def _check_grantable(role: str) -> None:
    if role == "OWNER":
        raise invalid_argument("The OWNER role is given only through transferOwnership.", "permission.role")
    if role == "ROLE_UNSPECIFIED":
        raise invalid_argument("permission.role is required.", "permission.role")


def _same_grantee(one: PermissionRecord, other: PermissionRecord) -> bool:
    return (one.grantee_type, one.email_address.lower()) == (other.grantee_type, other.email_address.lower())


def _find(record: TunedModelRecord, permission_id: str) -> PermissionRecord:
    for grant in record.permissions:
        if grant.permission_id == permission_id:
            return grant
    raise not_found(f"Permission {record.name}/permissions/{permission_id} does not exist.")
