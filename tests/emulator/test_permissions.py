"""Permissions on tuned models and transferOwnership."""

from __future__ import annotations

from reconciler.emulator import EmulatorServer
from tests.emulator.helpers import INT_ENUMS, call, create

PERMISSIONS = "v1beta/tunedModels/number-generator/permissions"


def _grants(url: str) -> list[dict[str, str]]:
    return call(url, "GET", PERMISSIONS).json()["permissions"]  # type: ignore[no-any-return]


def test_owner_exists_from_the_start(emulator: EmulatorServer) -> None:
    create(emulator.url)
    [owner] = _grants(emulator.url)
    assert (owner["role"], owner["granteeType"]) == ("OWNER", "USER")


def test_grant_read_change_and_revoke(emulator: EmulatorServer) -> None:
    create(emulator.url)
    made = call(
        emulator.url, "POST", PERMISSIONS, {"role": "READER", "grantee_type": "USER", "email_address": "a@example.com"}
    )
    assert made.status_code == 200, made.text
    name = made.json()["name"]
    assert name.startswith("tunedModels/number-generator/permissions/")
    as_ints = call(emulator.url, "GET", f"v1beta/{name}", **INT_ENUMS).json()
    assert (as_ints["role"], as_ints["granteeType"]) == (3, 1)

    changed = call(emulator.url, "PATCH", f"v1beta/{name}", {"role": "WRITER"}, updateMask="role")
    assert changed.json()["role"] == "WRITER"
    bad_mask = call(
        emulator.url, "PATCH", f"v1beta/{name}", {"emailAddress": "b@example.com"}, updateMask="emailAddress"
    )
    assert bad_mask.status_code == 400

    assert call(emulator.url, "DELETE", f"v1beta/{name}").json() == {}
    assert call(emulator.url, "GET", f"v1beta/{name}").status_code == 404


def test_permission_rules(emulator: EmulatorServer) -> None:
    create(emulator.url)
    rules = [
        ({"granteeType": "USER", "emailAddress": "a@example.com"}, 400),  # no role
        ({"role": "READER", "granteeType": "EVERYONE", "emailAddress": "a@example.com"}, 400),
        ({"role": "READER", "granteeType": "GROUP"}, 400),  # no email
        ({"role": "OWNER", "granteeType": "USER", "emailAddress": "a@example.com"}, 400),
        ({"role": "READER", "granteeType": "EVERYONE"}, 200),
        ({"role": "WRITER", "granteeType": "EVERYONE"}, 409),  # same grantee again
    ]
    for body, status in rules:
        assert call(emulator.url, "POST", PERMISSIONS, body).status_code == status, body
    shared = call(emulator.url, "GET", "v1beta/tunedModels", filter="readers:everyone").json()
    assert len(shared["tunedModels"]) == 1


def test_transfer_ownership_downgrades_the_old_owner(emulator: EmulatorServer) -> None:
    create(emulator.url)
    response = call(
        emulator.url,
        "POST",
        "v1beta/tunedModels/number-generator:transferOwnership",
        {"emailAddress": "new@example.com"},
    )
    assert response.json() == {}
    roles = {g["emailAddress"]: g["role"] for g in _grants(emulator.url)}
    assert roles == {"owner@emulator.local": "WRITER", "new@example.com": "OWNER"}


def test_permission_paging(emulator: EmulatorServer) -> None:
    create(emulator.url)
    for n in range(3):
        call(emulator.url, "POST", PERMISSIONS, {"role": "READER", "emailAddress": f"r{n}@example.com"})
    first = call(emulator.url, "GET", PERMISSIONS, pageSize=2).json()
    second = call(emulator.url, "GET", PERMISSIONS, pageSize=2, pageToken=first["nextPageToken"]).json()
    assert len(first["permissions"]) + len(second["permissions"]) == 4
    assert "nextPageToken" not in second
