"""Calls every RangerClient method docs/compat.md marks served, with Apache Ranger's own client.

Each call is reported under the client's method name by `check`; it is ok only when the assertions
on its result hold. The two methods Gatehouse deliberately does not serve are reported as
`501:<method>`: ok when the client raised RangerServiceException for a 501 in Ranger's error shape.
Names carry a random suffix, so the script can run against a database other runs have used.
"""
import uuid

from apache_ranger.client.ranger_client import RangerClient
from apache_ranger.exceptions import RangerServiceException

from driver import AUTH, URL, check, done, expect

S = uuid.uuid4().hex[:8]
ranger = RangerClient(URL, AUTH)
# Ranger's own examples act for its built-in administrator.
EXEC_USER = "admin"

SVC = f"hive_{S}"
ZONE = f"zone_{S}"
ZONE_V2 = f"zonev2_{S}"
DEF = f"custom_{S}"
TAGS = f"tags_{S}"


def names(items):
    return sorted(i.name for i in items)


def principals(items):
    """A v2 zone's admins or auditors as (type, name); the client makes `type` a PrincipalType."""
    return sorted((str(getattr(p.type, "value", p.type)), p.name) for p in items or [])


def rest_response(call):
    """Runs grant_role or revoke_role. The client coerces their answer with
    RESTResponse.type_coerce_attrs, which calls super(RangerPolicy, self) (a bug in the client) and
    raises TypeError for any JSON body, Ranger's own RESTResponse included. The request has been
    answered 200 by then (any other status raises RangerServiceException first); the caller checks
    the effect."""
    try:
        return call()
    except TypeError as err:
        expect("super(type, obj)" in str(err), f"unexpected TypeError {err}")
        return None


def custom_def(name, description):
    return {
        "name": name,
        "description": description,
        "resources": [
            {"itemId": 1, "name": "path", "type": "path", "level": 10, "mandatory": True,
             "matcher": "org.apache.ranger.plugin.resourcematcher.RangerPathResourceMatcher",
             "recursiveSupported": True, "label": "Path"},
        ],
        "accessTypes": [{"itemId": 1, "name": "read", "label": "Read"}, {"itemId": 2, "name": "write", "label": "Write"}],
    }


# --- service-defs -------------------------------------------------------------------------------
@check("find_service_defs")
def _():
    everything = ranger.find_service_defs()
    expect("hive" in names(everything), f"hive missing from {names(everything)}")
    only_hive = ranger.find_service_defs({"serviceType": "hive"})
    expect(names(only_hive) == ["hive"], f"serviceType=hive gave {names(only_hive)}")


@check("get_service_def")
def hive_def():
    d = ranger.get_service_def("hive")
    expect(d.name == "hive" and isinstance(d.id, int), f"unexpected {d}")
    expect(any(r["name"] == "database" for r in d.resources), "hive has no database resource")
    return d


@check("get_service_def_by_id")
def _():
    d = ranger.get_service_def_by_id(hive_def.id)
    expect(d is not None and d.name == "hive", f"by id {hive_def.id}: {d}")


@check("create_service_def")
def created_def():
    d = ranger.create_service_def(custom_def(DEF, "first"))
    expect(d.name == DEF and isinstance(d.id, int) and d.description == "first", f"created {d}")
    return d


@check("update_service_def_by_id")
def _():
    d = ranger.update_service_def_by_id(created_def.id, {**custom_def(DEF, "second"), "id": created_def.id})
    expect(d.id == created_def.id and d.description == "second", f"updated {d}")
    expect(ranger.get_service_def(DEF).description == "second", "update not stored")


@check("update_service_def")
def _():
    d = ranger.update_service_def(DEF, custom_def(DEF, "third"))
    expect(d.description == "third", f"updated {d}")
    expect(ranger.get_service_def_by_id(created_def.id).description == "third", "update not stored")


@check("delete_service_def_by_id")
def _():
    ranger.delete_service_def_by_id(created_def.id)
    expect(ranger.get_service_def_by_id(created_def.id) is None, "still there after delete")


@check("delete_service_def")
def _():
    other = ranger.create_service_def(custom_def(f"{DEF}b", "x"))
    ranger.delete_service_def(other.name)
    expect(ranger.get_service_def(other.name) is None, "still there after delete")


# --- services -----------------------------------------------------------------------------------
@check("create_service")
def svc():
    ranger.create_service({"name": TAGS, "type": "tag"})
    s = ranger.create_service({"name": SVC, "type": "hive", "description": "made by the client",
                               "configs": {"username": "hive", "jdbc.driverClassName": "x", "jdbc.url": "jdbc:x"},
                               "tagService": TAGS})
    expect(s.name == SVC and s.type == "hive" and isinstance(s.id, int), f"created {s}")
    return s


@check("get_service")
def _():
    s = ranger.get_service(SVC)
    expect(s.id == svc.id and s.description == "made by the client", f"got {s}")


@check("get_service_by_id")
def _():
    s = ranger.get_service_by_id(svc.id)
    expect(s.name == SVC, f"got {s}")


@check("update_service")
def _():
    s = ranger.update_service(SVC, {"name": SVC, "type": "hive", "description": "by name", "tagService": TAGS,
                                     "configs": {"username": "hive"}})
    expect(s.description == "by name", f"updated {s}")


@check("update_service_by_id")
def _():
    s = ranger.update_service_by_id(svc.id, {"id": svc.id, "name": SVC, "type": "hive", "description": "by id",
                                              "tagService": TAGS, "configs": {"username": "hive"}})
    expect(s.description == "by id" and ranger.get_service(SVC).description == "by id", f"updated {s}")


@check("find_services")
def _():
    everything = ranger.find_services()
    expect(SVC in names(everything) and TAGS in names(everything), "created services not listed")
    hive = ranger.find_services({"serviceType": "hive"})
    expect(SVC in names(hive) and all(s.type == "hive" for s in hive), f"serviceType=hive gave {names(hive)}")
    one = ranger.find_services({"serviceName": SVC})
    expect(names(one) == [SVC], f"serviceName gave {names(one)}")


@check("delete_service")
def _():
    ranger.create_service({"name": f"{SVC}_d1", "type": "hive", "configs": {"username": "hive"}})
    ranger.delete_service(f"{SVC}_d1")
    expect(ranger.get_service(f"{SVC}_d1") is None, "still there after delete")


@check("delete_service_by_id")
def _():
    s = ranger.create_service({"name": f"{SVC}_d2", "type": "hive", "configs": {"username": "hive"}})
    ranger.delete_service_by_id(s.id)
    expect(ranger.get_service_by_id(s.id) is None, "still there after delete")


# --- security zones (v1) ------------------------------------------------------------------------
@check("create_security_zone")
def zone():
    z = ranger.create_security_zone({"name": ZONE, "description": "v1",
                                     "services": {SVC: {"resources": [{"database": [f"zdb_{S}"]}]}},
                                     "adminUsers": ["zone-admin"], "auditUserGroups": ["auditors"]})
    expect(z.name == ZONE and isinstance(z.id, int), f"created {z}")
    return z


@check("get_security_zone")
def _():
    z = ranger.get_security_zone(ZONE)
    expect(z.id == zone.id and z.services[SVC]["resources"] == [{"database": [f"zdb_{S}"]}], f"got {z}")


@check("get_security_zone_by_id")
def _():
    z = ranger.get_security_zone_by_id(zone.id)
    expect(z.name == ZONE, f"got {z}")


@check("update_security_zone_by_id")
def _():
    z = ranger.update_security_zone_by_id(zone.id, {"id": zone.id, "name": ZONE, "description": "v1 updated",
                                                    "services": {SVC: {"resources": [{"database": [f"zdb_{S}"]}]}},
                                                    "adminUsers": ["zone-admin"], "auditUserGroups": ["auditors"]})
    expect(z.description == "v1 updated", f"updated {z}")


@check("find_security_zones")
def _():
    every = ranger.find_security_zones()
    expect(ZONE in names(every), "zone not listed")
    one = ranger.find_security_zones({"zoneName": ZONE})
    expect(names(one) == [ZONE], f"zoneName gave {names(one)}")


@check("get_security_zone_headers")
def _():
    headers = ranger.get_security_zone_headers()
    mine = [h for h in headers if h.name == ZONE]
    expect(len(mine) == 1 and mine[0].id == zone.id, f"headers {headers}")


@check("get_security_zone_service_headers")
def _():
    headers = ranger.get_security_zone_service_headers(zone.id)
    expect([h.name for h in headers] == [SVC] and headers[0].id == svc.id, f"service headers {headers}")


@check("get_zone_names_for_resource")
def _():
    inside = ranger.get_zone_names_for_resource(SVC, {"database": f"zdb_{S}", "table": "t1"})
    expect(inside == [ZONE], f"zone names {inside}")
    outside = ranger.get_zone_names_for_resource(SVC, {"database": "elsewhere"})
    expect(outside == [], f"zone names outside {outside}")


# --- policies -----------------------------------------------------------------------------------
def hive_policy(name, database, users, zone_name=None):
    p = {"service": SVC, "name": name, "description": "client",
         "resources": {"database": {"values": [database]}, "table": {"values": ["t1"]}, "column": {"values": ["*"]}},
         "policyItems": [{"users": users, "accesses": [{"type": "select", "isAllowed": True}]}]}
    if zone_name:
        p["zoneName"] = zone_name
    return p


@check("create_policy")
def p1():
    p = ranger.create_policy(hive_policy(f"p1_{S}", f"sales_{S}", ["alice"]))
    expect(p.name == f"p1_{S}" and isinstance(p.id, int) and p.service == SVC, f"created {p}")
    ranger.create_policy(hive_policy(f"p2_{S}", f"hr_{S}", ["bob"]))
    return p


@check("get_policy_by_id")
def _():
    p = ranger.get_policy_by_id(p1.id)
    expect(p.name == f"p1_{S}", f"got {p}")


@check("get_policy")
def _():
    p = ranger.get_policy(SVC, f"p1_{S}")
    expect(p.id == p1.id, f"got {p}")


@check("get_policies_in_service")
def _():
    every = ranger.get_policies_in_service(SVC)
    expect({f"p1_{S}", f"p2_{S}"} <= set(names(every)), f"listed {names(every)}")
    one = ranger.get_policies_in_service(SVC, {"policyName": f"p2_{S}"})
    expect(names(one) == [f"p2_{S}"], f"policyName gave {names(one)}")


@check("find_policies")
def _():
    # Ranger's resource search without resourceMatchScope: a policy naming the value matches,
    # whatever lies below it.
    by_db = ranger.find_policies({"serviceName": SVC, "resource:database": f"sales_{S}"})
    expect(names(by_db) == [f"p1_{S}"], f"resource:database gave {names(by_db)}")
    partial = ranger.find_policies({"serviceType": "hive", "polResource": f"ales_{S}"})
    expect(names(partial) == [f"p1_{S}"], f"polResource gave {names(partial)}")
    prefix = ranger.find_policies({"serviceName": SVC, "policyNamePrefix": "P2_"})
    expect(names(prefix) == [f"p2_{S}"], f"policyNamePrefix gave {names(prefix)}")
    by_user = ranger.find_policies({"serviceName": SVC, "user": "bob"})
    expect(names(by_user) == [f"p2_{S}"], f"user gave {names(by_user)}")
    paged = ranger.find_policies({"serviceName": SVC, "pageSize": "1"})
    expect(len(paged) == 1, f"pageSize=1 gave {len(paged)}")


@check("update_policy_by_id")
def _():
    body = {**hive_policy(f"p1_{S}", f"sales_{S}", ["alice"]), "id": p1.id, "description": "by id"}
    p = ranger.update_policy_by_id(p1.id, body)
    expect(p.description == "by id" and ranger.get_policy_by_id(p1.id).description == "by id", f"updated {p}")


@check("update_policy")
def _():
    body = {**hive_policy(f"p1_{S}", f"sales_{S}", ["alice"]), "description": "by name"}
    p = ranger.update_policy(SVC, f"p1_{S}", body)
    expect(p.id == p1.id and p.description == "by name", f"updated {p}")


@check("apply_policy")
def _():
    p = ranger.apply_policy(hive_policy(f"applied_{S}", f"sales_{S}", ["carol"]))
    expect(p.id == p1.id, f"apply did not merge into p1: {p.id} vs {p1.id}")
    users = sorted(u for item in p.policyItems for u in item["users"])
    expect(users == ["alice", "carol"], f"merged users {users}")


@check("get_policy_by_name_zone")
def zoned():
    ranger.create_policy(hive_policy(f"pz_{S}", f"zdb_{S}", ["dave"], ZONE))
    p = ranger.get_policy_by_name_zone(SVC, f"pz_{S}", ZONE)
    expect(p.zoneName == ZONE and p.name == f"pz_{S}", f"got {p}")
    expect(ranger.get_policy(SVC, f"pz_{S}") is None, "zone policy found outside its zone")
    return p


@check("update_policy_by_name_zone")
def _():
    body = {**hive_policy(f"pz_{S}", f"zdb_{S}", ["dave"], ZONE), "description": "zoned"}
    p = ranger.update_policy_by_name_zone(SVC, f"pz_{S}", ZONE, body)
    expect(p.id == zoned.id and p.description == "zoned", f"updated {p}")


@check("delete_policy_by_name_zone")
def _():
    ranger.delete_policy_by_name_zone(SVC, f"pz_{S}", ZONE)
    expect(ranger.get_policy_by_id(zoned.id) is None, "still there after delete")


@check("delete_policy")
def _():
    ranger.delete_policy(SVC, f"p2_{S}")
    expect(ranger.get_policy(SVC, f"p2_{S}") is None, "still there after delete")


@check("delete_policy_by_id")
def _():
    ranger.delete_policy_by_id(p1.id)
    expect(ranger.get_policy_by_id(p1.id) is None, "still there after delete")


@check("delete_policy_deltas")
def _():
    # 204 with no body; the client raises on any other status.
    expect(ranger.delete_policy_deltas(0, True) is None, "answered a body")
    # The engine rebuilds from the policies themselves after the log is gone.
    p = ranger.create_policy(hive_policy(f"after_{S}", f"later_{S}", ["erin"]))
    expect(ranger.get_policy_by_id(p.id).name == f"after_{S}", "policy after purge missing")


# --- security zones (v2) ------------------------------------------------------------------------
@check("create_security_zone_v2")
def zone2():
    z = ranger.create_security_zone_v2({"name": ZONE_V2, "description": "v2",
                                        "services": {SVC: {"resources": [{"resource": {"database": [f"v2db_{S}"]}}]}},
                                        "tagServices": [TAGS],
                                        "admins": [{"type": "USER", "name": "zone-admin"}],
                                        "auditors": [{"type": "GROUP", "name": "auditors"}]})
    expect(z.name == ZONE_V2 and isinstance(z.id, int), f"created {z}")
    expect(z.services[SVC]["resources"][0]["resource"] == {"database": [f"v2db_{S}"]}, f"services {z.services}")
    expect(principals(z.admins) == [("USER", "zone-admin")], f"admins {z.admins}")
    return z


@check("get_security_zone_v2")
def _():
    z = ranger.get_security_zone_v2(ZONE_V2)
    expect(z.id == zone2.id and principals(z.auditors) == [("GROUP", "auditors")], f"got {z}")
    expect(z.tagServices == [TAGS], f"tag services {z.tagServices}")


@check("get_security_zone_v2_by_id")
def _():
    z = ranger.get_security_zone_v2_by_id(zone2.id)
    expect(z.name == ZONE_V2, f"got {z}")


@check("update_security_zone_v2")
def _():
    z = ranger.update_security_zone_v2(zone2.id, {"id": zone2.id, "name": ZONE_V2, "description": "v2 updated",
                                                  "services": {SVC: {"resources": [{"resource": {"database": [f"v2db_{S}"]}}]}},
                                                  "admins": [{"type": "USER", "name": "zone-admin"}],
                                                  "auditors": [{"type": "GROUP", "name": "auditors"}]})
    expect(z.description == "v2 updated" and z.tagServices == [], f"updated {z}")


@check("partial_update_security_zone_v2")
def _():
    ok = ranger.partial_update_security_zone_v2(zone2.id, {
        "resourcesToUpdate": {SVC: {"resources": [{"resource": {"database": [f"v2extra_{S}"]}}]}},
        "adminsToAdd": [{"type": "ROLE", "name": "zone-admins"}],
        "auditorsToRemove": [{"type": "GROUP", "name": "auditors"}],
    })
    # Ranger answers a bare `true`; the client coerces it to RangerSecurityZoneV2, which makes None
    # of anything but an object. The effect is checked below.
    expect(ok is None, f"answered {ok}")
    z = ranger.get_security_zone_v2(ZONE_V2)
    dbs = sorted(r["resource"]["database"][0] for r in z.services[SVC]["resources"])
    expect(dbs == sorted([f"v2db_{S}", f"v2extra_{S}"]), f"resources {dbs}")
    expect(principals(z.admins) == [("ROLE", "zone-admins"), ("USER", "zone-admin")], f"admins {z.admins}")
    expect(principals(z.auditors) == [], f"auditors {z.auditors}")


@check("zone_v2_get_resources")
def _():
    page = ranger.zone_v2_get_resources(ZONE_V2, SVC)
    dbs = sorted(r.resource["database"][0] for r in page.list)
    expect(dbs == sorted([f"v2db_{S}", f"v2extra_{S}"]) and page.totalCount == 2, f"resources {page}")


@check("zone_v2_by_id_get_resources")
def _():
    page = ranger.zone_v2_by_id_get_resources(zone2.id, SVC, {"pageSize": "1"})
    expect(len(page.list) == 1 and page.totalCount == 2 and isinstance(page.list[0].id, int), f"resources {page}")


@check("find_security_zones_v2")
def _():
    page = ranger.find_security_zones_v2({"zoneName": ZONE_V2})
    expect([z.name for z in page.list] == [ZONE_V2], f"zones {page}")


@check("delete_security_zone_by_id")
def _():
    ranger.delete_security_zone_by_id(zone2.id)
    expect(ranger.get_security_zone_by_id(zone2.id) is None, "still there after delete")


@check("delete_security_zone")
def _():
    ranger.delete_security_zone(ZONE)
    expect(ranger.get_security_zone(ZONE) is None, "still there after delete")


# --- roles --------------------------------------------------------------------------------------
R1 = f"analysts_{S}"
R2 = f"analysts_{S}_x"


@check("create_role")
def role1():
    r = ranger.create_role(SVC, {"name": R1, "description": "one", "users": [{"name": f"u1_{S}", "isAdmin": False}]},
                           {"createNonExistUserGroup": "true"})
    expect(r.name == R1 and isinstance(r.id, int), f"created {r}")
    expect([u["name"] for u in r.users] == [f"u1_{S}"], f"users {r.users}")
    ranger.create_role(SVC, {"name": R2, "description": "two"})
    return r


@check("update_role")
def _():
    r = ranger.update_role(role1.id, {"id": role1.id, "name": R1, "description": "updated",
                                      "users": [{"name": f"u1_{S}", "isAdmin": True}]})
    expect(r.description == "updated" and r.users[0]["isAdmin"] is True, f"updated {r}")


@check("get_role_by_id")
def _():
    r = ranger.get_role_by_id(role1.id)
    expect(r.name == R1, f"got {r}")


@check("get_role")
def _():
    r = ranger.get_role(R1, EXEC_USER, SVC)
    expect(r is not None and r.id == role1.id, f"got {r}")


@check("get_all_role_names")
def _():
    every = ranger.get_all_role_names(EXEC_USER, SVC)
    expect(R1 in every and R2 in every, f"names {every}")


@check("find_roles")
def _():
    exact = ranger.find_roles({"roleName": R1})
    expect(names(exact) == [R1], f"roleName gave {names(exact)}")
    expect(ranger.find_roles({"roleName": R1})[0].id == role1.id, "first role is not the named one")
    partial = ranger.find_roles({"roleNamePartial": f"ANALYSTS_{S}"})
    expect(names(partial) == sorted([R1, R2]), f"roleNamePartial gave {names(partial)}")


@check("grant_role")
def _():
    answer = rest_response(lambda: ranger.grant_role(SVC, {"targetRoles": [R2], "users": [f"u1_{S}"], "groups": [], "roles": []}))
    expect(answer is None or answer.statusCode == 0, f"answered {answer}")
    expect(f"u1_{S}" in [u["name"] for u in ranger.get_role(R2, EXEC_USER, SVC).users], "grant not visible")


@check("get_user_roles")
def _():
    roles = ranger.get_user_roles(f"u1_{S}")
    expect(R1 in roles and R2 in roles, f"user roles {roles}")


@check("revoke_role")
def _():
    answer = rest_response(lambda: ranger.revoke_role(SVC, {"targetRoles": [R2], "users": [f"u1_{S}"], "groups": [], "roles": []}))
    expect(answer is None or answer.statusCode == 0, f"answered {answer}")
    expect(ranger.get_role(R2, EXEC_USER, SVC).users == [], "revoke not visible")


@check("delete_role")
def _():
    ranger.delete_role(R2, EXEC_USER, SVC)
    expect(ranger.find_roles({"roleName": R2}) == [], "still there after delete")


@check("delete_role_by_id")
def _():
    ranger.delete_role_by_id(role1.id)
    expect(ranger.get_role_by_id(role1.id) is None, "still there after delete")


# --- service tags -------------------------------------------------------------------------------
@check("import_service_tags")
def _():
    ranger.import_service_tags(SVC, {
        "op": "set",
        "tagDefinitions": {"1": {"id": 1, "name": f"PII_{S}", "attributeDefs": []}},
        "tags": {"1": {"id": 1, "type": f"PII_{S}", "attributes": {}}},
        "serviceResources": [{"id": 1, "resourceElements": {"database": {"values": [f"sales_{S}"]},
                                                             "table": {"values": ["t1"]}}}],
        "resourceToTagIds": {"1": [1]},
    })


@check("get_service_tags")
def _():
    tags = ranger.get_service_tags(SVC)
    expect(tags.serviceName == SVC, f"service {tags.serviceName}")
    types = sorted(t["type"] for t in tags.tags.values())
    expect(types == [f"PII_{S}"], f"tags {types}")
    resources = [r["resourceElements"]["database"]["values"] for r in tags.serviceResources]
    expect(resources == [[f"sales_{S}"]], f"resources {resources}")


# --- deliberately not served: a 501 in Ranger's error shape -------------------------------------
def not_served(method, call):
    @check(f"501:{method}")
    def _():
        try:
            call()
        except RangerServiceException as err:
            expect(err.statusCode == 501, f"status {err.statusCode}")
            expect(err.msgDesc and "not" in err.msgDesc, f"msgDesc {err.msgDesc}")
            return
        raise AssertionError("no error raised")


not_served("purge_records", lambda: ranger.purge_records("login_records", 180))
not_served("set_log_level", lambda: ranger.set_log_level("org.apache.ranger", "DEBUG"))

done()
