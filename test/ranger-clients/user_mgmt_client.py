"""Drives every public method of Apache Ranger's RangerUserMgmtClient against Gatehouse.

Each call is reported by `check` and asserts on what came back; the names are unique per run
(GATEHOUSE_RUN), so the driver can run against a database other tests use too.
"""
import json
import os

from apache_ranger.client.ranger_client import RangerClient
from apache_ranger.client.ranger_user_mgmt_client import RangerUserMgmtClient
from apache_ranger.exceptions import RangerServiceException
from apache_ranger.model.ranger_user_mgmt import RangerGroup, RangerGroupUser, RangerUser

from driver import AUTH, URL, check, done, expect

RUN = os.environ.get("GATEHOUSE_RUN", "run")
client = RangerUserMgmtClient(RangerClient(URL, AUTH))

alice_name = f"alice-{RUN}"
bob_name = f"bob-{RUN}"
group_name = f"analysts-{RUN}"
other_group_name = f"engineers-{RUN}"


@check("create_user")
def alice():
    user = RangerUser({"name": alice_name, "firstName": "Alice", "emailAddress": f"{alice_name}@example.com",
                       "otherAttributes": json.dumps({"department": "finance"})})
    created = client.create_user(user)
    expect(isinstance(created, RangerUser), f"not a RangerUser: {created!r}")
    expect(isinstance(created.id, int) and created.id > 0, f"id {created.id!r}")
    expect(created.name == alice_name and created.firstName == "Alice", f"created {created!r}")
    expect(created.emailAddress == f"{alice_name}@example.com", f"email {created.emailAddress!r}")
    expect(created.status == 1 and created.isVisible == 1, f"status/isVisible {created!r}")
    expect(json.loads(created.otherAttributes) == {"department": "finance"}, f"otherAttributes {created.otherAttributes!r}")
    # Ranger's duplicate rule on the secure create: 400 "already exists"
    try:
        client.create_user(RangerUser({"name": alice_name.upper(), "firstName": "Other"}))
        raise AssertionError("a second user with the same name was created")
    except RangerServiceException as err:
        expect(err.statusCode == 400 and "already exists" in (err.msgDesc or ""), f"duplicate: {err}")
    return created


bob = client.create_user(RangerUser({"name": bob_name, "firstName": "Bob"})) if alice else None


@check("get_user_by_id")
def _():
    found = client.get_user_by_id(alice.id)
    expect(found.id == alice.id and found.name == alice_name, f"found {found!r}")
    expect(client.get_user_by_id(2_000_000_000) is None, "an unknown id should be None (404)")


@check("update_user_by_id")
def _():
    alice.firstName = "Alice Cooper"
    alice.emailAddress = f"cooper-{RUN}@example.com"
    updated = client.update_user_by_id(alice.id, alice)
    expect(updated.id == alice.id and updated.firstName == "Alice Cooper", f"updated {updated!r}")
    expect(updated.emailAddress == f"cooper-{RUN}@example.com", f"email {updated.emailAddress!r}")
    renamed = RangerUser({"name": f"carol-{RUN}", "firstName": "Carol"})
    try:
        client.update_user_by_id(alice.id, renamed)
        raise AssertionError("a rename was accepted")
    except RangerServiceException as err:
        expect(err.statusCode == 400, f"rename: {err}")


@check("find_users")
def _():
    found = client.find_users({"name": f"-{RUN}", "pageSize": 1, "startIndex": 0})
    expect(found.totalCount == 2 and found.resultSize == 1 and found.pageSize == 1, f"page {found!r}")
    expect(len(found.list) == 1 and isinstance(found.list[0], RangerUser), f"list {found.list!r}")
    second = client.find_users({"name": f"-{RUN}", "pageSize": 1, "startIndex": 1})
    expect(second.startIndex == 1 and len(second.list) == 1, f"second page {second!r}")
    expect({found.list[0].name, second.list[0].name} == {alice_name, bob_name}, "the two pages hold both users")


@check("get_user")
def _():
    found = client.get_user(bob_name)
    expect(found is not None and found.id == bob.id, f"found {found!r}")
    expect(client.get_user(f"nobody-{RUN}") is None, "an unknown name should be None")


@check("create_group")
def analysts():
    created = client.create_group(RangerGroup({"name": group_name, "description": "Analysts"}))
    expect(isinstance(created, RangerGroup) and created.id > 0, f"created {created!r}")
    expect(created.name == group_name and created.description == "Analysts", f"created {created!r}")
    try:
        client.create_group(RangerGroup({"name": group_name}))
        raise AssertionError("a second group with the same name was created")
    except RangerServiceException as err:
        expect(err.statusCode == 400 and "already exists" in (err.msgDesc or ""), f"duplicate: {err}")
    return created


engineers = client.create_group(RangerGroup({"name": other_group_name})) if analysts else None


@check("get_group_by_id")
def _():
    found = client.get_group_by_id(analysts.id)
    expect(found.id == analysts.id and found.name == group_name, f"found {found!r}")


@check("update_group_by_id")
def _():
    analysts.description = "Financial analysts"
    updated = client.update_group_by_id(analysts.id, analysts)
    expect(updated.id == analysts.id and updated.description == "Financial analysts", f"updated {updated!r}")


@check("find_groups")
def _():
    found = client.find_groups({"name": RUN})
    expect(found.totalCount == 2 and {g.name for g in found.list} == {group_name, other_group_name}, f"{found!r}")
    expect(all(isinstance(g, RangerGroup) for g in found.list), "RangerGroup entries")


@check("get_group")
def _():
    found = client.get_group(other_group_name)
    expect(found is not None and found.id == engineers.id, f"found {found!r}")


@check("create_group_user")
def membership():
    created = client.create_group_user(RangerGroupUser({"name": group_name, "userId": alice.id}))
    expect(isinstance(created, RangerGroupUser) and created.id > 0, f"created {created!r}")
    expect(created.name == group_name and created.parentGroupId == analysts.id and created.userId == alice.id,
           f"created {created!r}")
    # the plain create is an upsert: the same membership again keeps its id
    again = client.create_group_user(RangerGroupUser({"name": group_name, "userId": alice.id}))
    expect(again.id == created.id, f"again {again!r}")
    return created


bob_membership = client.create_group_user(RangerGroupUser({"name": group_name, "userId": bob.id})) if membership else None


@check("find_group_users")
def _():
    found = client.find_group_users({"xGroupId": analysts.id})
    expect(found.totalCount == 2 and {m.userId for m in found.list} == {alice.id, bob.id}, f"{found!r}")
    expect(all(isinstance(m, RangerGroupUser) for m in found.list), "RangerGroupUser entries")


@check("get_groups_for_user")
def _():
    groups = client.get_groups_for_user(alice_name)
    expect(groups == [group_name], f"groups {groups!r}")


@check("get_group_users_for_group")
def _():
    info = client.get_group_users_for_group(group_name)
    expect(info.group is not None and info.group.id == analysts.id, f"group {info.group!r}")
    expect(sorted(u.name for u in info.users) == sorted([alice_name, bob_name]), f"users {info.users!r}")


@check("get_users_in_group")
def _():
    users = client.get_users_in_group(group_name)
    expect(sorted(users) == sorted([alice_name, bob_name]), f"users {users!r}")


@check("update_group_user")
def _():
    # move bob's membership from analysts to engineers
    moved = client.update_group_user(RangerGroupUser({"id": bob_membership.id, "name": other_group_name, "userId": bob.id}))
    expect(moved.name == other_group_name and moved.parentGroupId == engineers.id and moved.userId == bob.id,
           f"moved {moved!r}")
    expect(client.get_users_in_group(group_name) == [alice_name], "bob left analysts")
    expect(client.get_groups_for_user(bob_name) == [other_group_name], "bob is an engineer")


@check("delete_group_user_by_id")
def _():
    client.delete_group_user_by_id(membership.id)
    expect(client.get_groups_for_user(alice_name) in (None, []), "alice left analysts")
    found = client.find_group_users({"xUserId": alice.id})
    expect(found.totalCount == 0, f"memberships {found!r}")


@check("delete_group_by_id")
def _():
    # engineers still has bob: without forceDelete Ranger hides the group instead of deleting it
    client.delete_group_by_id(engineers.id)
    hidden = client.get_group_by_id(engineers.id)
    expect(hidden is not None and hidden.isVisible == 0, f"hidden {hidden!r}")
    client.delete_group_by_id(engineers.id, is_force_delete=True)
    expect(client.get_group_by_id(engineers.id) is None, "engineers is deleted")
    client.delete_group_by_id(analysts.id)
    expect(client.get_group(group_name) is None, "analysts (no members) is deleted")


@check("delete_user_by_id")
def _():
    client.delete_user_by_id(alice.id)
    expect(client.get_user_by_id(alice.id) is None, "alice (no references) is deleted")
    client.delete_user_by_id(bob.id, is_force_delete=True)
    expect(client.get_user(bob_name) is None, "bob is deleted")


done()
