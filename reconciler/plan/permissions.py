"""Grants: add, change the role of, or remove one declared grantee at a time.

Only models whose manifest declares permissions are compared, and the OWNER
grant is never touched (ownership moves only through TransferOwnership).
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.model.desired import DesiredModel
from reconciler.model.live import LivePermission
from reconciler.model.manifest import Permission
from reconciler.plan.types import Action, Change, PermissionChange

OWNER = "OWNER"


def _grantee_text(grantee_type: str, email: str) -> str:
    return f"{grantee_type} {email}".rstrip()


def _add(model: DesiredModel, permission: Permission, reason: str) -> Change:
    grantee_type, email = permission.grantee
    return Change(
        action=Action.PERMISSION_ADD,
        model_id=model.id,
        reason=f"grant {permission.role.value} to {_grantee_text(grantee_type, email)}: {reason}",
        paths=("spec.permissions",),
        permission=PermissionChange(grantee_type=grantee_type, email_address=email, role_after=permission.role.value),
        depends_on=(model.id,),
        file=model.file,
    )


def grants_for_new_model(model: DesiredModel) -> list[Change]:
    """Every declared grant, for a model about to be created (or re-created)."""
    reason = "the model is created by this plan"
    return [_add(model, permission, reason) for permission in model.manifest.spec.permissions]


def grant_changes(
    model: DesiredModel, live: Iterable[LivePermission], waits_for_model: bool
) -> tuple[list[Change], list[str]]:
    """The changes that make the live grants match the declared ones, and notes
    about declared grantees that already own the model (left alone)."""
    live_by_grantee = {p.grantee: p for p in live}
    owners = {g for g, p in live_by_grantee.items() if p.role == OWNER}
    depends_on = (model.id,) if waits_for_model else ()
    changes: list[Change] = []
    notes: list[str] = []
    declared = model.manifest.spec.permissions
    for permission in declared:
        current = live_by_grantee.get(permission.grantee)
        if permission.grantee in owners:
            notes.append(
                f"{model.id}: {_grantee_text(*permission.grantee)} owns the model; "
                f"its declared role {permission.role.value} is not applied"
            )
        elif current is None:
            changes.append(_add(model, permission, "not granted yet"))
        elif current.role != permission.role.value:
            changes.append(_role_change(model, permission, current))
    declared_grantees = {p.grantee for p in declared}
    for grantee, current in sorted(live_by_grantee.items()):
        if grantee not in declared_grantees and grantee not in owners:
            changes.append(_remove(model, current))
    return [c.model_copy(update={"depends_on": depends_on}) for c in changes], notes


def _role_change(model: DesiredModel, permission: Permission, current: LivePermission) -> Change:
    grantee_type, email = permission.grantee
    return Change(
        action=Action.PERMISSION_UPDATE,
        model_id=model.id,
        reason=(
            f"change the role of {_grantee_text(grantee_type, email)} from {current.role} to {permission.role.value}"
        ),
        paths=("spec.permissions",),
        update_mask=("role",),
        permission=PermissionChange(
            grantee_type=grantee_type,
            email_address=email,
            role_before=current.role,
            role_after=permission.role.value,
            name=current.name,
        ),
        file=model.file,
    )


def _remove(model: DesiredModel, current: LivePermission) -> Change:
    grantee_type, email = current.grantee
    return Change(
        action=Action.PERMISSION_REMOVE,
        model_id=model.id,
        reason=f"revoke {current.role} from {_grantee_text(grantee_type, email)}: not declared",
        paths=("spec.permissions",),
        permission=PermissionChange(
            grantee_type=grantee_type,
            email_address=email,
            role_before=current.role,
            name=current.name,
        ),
        file=model.file,
    )
