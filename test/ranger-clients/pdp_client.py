"""Drives Apache Ranger's RangerPDPClient against Gatehouse's Ranger PDP routes.

Follows Ranger's own examples (ranger-examples/sample-client/src/main/python/sample_pdp_client.py,
intg/src/main/python/README.md, authz-api/README.txt) on the service the test seeded: a hive
service with `default.test_tbl1` (select and create for PDP_ANALYSTS, rows filtered, `email`
hashed) and nothing on `default.test_vw1`. Every call asserts on the decisions it gets back.
"""
import os

from apache_ranger.client.ranger_pdp_client import RangerPDPClient
from apache_ranger.exceptions import RangerServiceException
from apache_ranger.model.ranger_authz import (
    RangerAccessContext,
    RangerAccessInfo,
    RangerAuthzRequest,
    RangerAuthzResult,
    RangerMultiAuthzRequest,
    RangerResourceInfo,
    RangerResourcePermissionsRequest,
    RangerUserInfo,
)
from apache_ranger.utils import API, HttpMethod, HTTPStatus
from driver import AUTH, URL, check, done, expect

SERVICE = os.environ["PDP_SERVICE"]
ALICE = os.environ["PDP_ALICE"]
BOB = os.environ["PDP_BOB"]
ANALYSTS = os.environ["PDP_ANALYSTS"]
ACCESS_POLICY = int(os.environ["PDP_ACCESS_POLICY"])
ROW_FILTER_POLICY = int(os.environ["PDP_ROW_FILTER_POLICY"])
MASK_POLICY = int(os.environ["PDP_MASK_POLICY"])
DELEGATE = os.environ["PDP_HEADER_DELEGATE"]


def context():
    return RangerAccessContext({"serviceType": "hive", "serviceName": SERVICE})


# The sample client's trusted-header authentication: a proxy names the caller, a delegation user.
pdp = RangerPDPClient(URL, auth=None, headers={"X-Forwarded-User": DELEGATE})
# Gatehouse credentials: a service account (Basic), also a delegation user.
pdp_basic = RangerPDPClient(URL, AUTH)
# A caller asking about itself needs no delegation.
pdp_alice = RangerPDPClient(URL, auth=None, headers={"X-Forwarded-User": ALICE})


@check("authorize")
def sample_create():
    """sample_pdp_client.py req-1: create on a table."""
    res = pdp.authorize(RangerAuthzRequest({
        "requestId": "req-1",
        "user": RangerUserInfo({"name": ALICE}),
        "access": RangerAccessInfo({"resource": RangerResourceInfo({"name": "table:default/test_tbl1"}), "permissions": ["create"]}),
        "context": context(),
    }))
    expect(isinstance(res, RangerAuthzResult), f"not a RangerAuthzResult: {res!r}")
    expect(res.requestId == "req-1", f"requestId {res.requestId}")
    expect(res.decision == RangerAuthzResult.DECISION_ALLOW, f"decision {res.decision}")
    create = res.permissions["create"]
    expect(create.permission == "create", f"permission {create.permission}")
    expect(create.access.decision == "ALLOW", f"create {create.access}")
    expect(create.access.policy.id == ACCESS_POLICY, f"policy {create.access.policy}")


@check("authorize")
def sample_columns():
    """sample_pdp_client.py req-2 (authz-api README 3.2): a table and three of its columns."""
    res = pdp.authorize(RangerAuthzRequest({
        "requestId": "req-2",
        "user": RangerUserInfo({"name": ALICE}),
        "access": RangerAccessInfo({
            "resource": RangerResourceInfo({"name": "table:default/test_tbl1", "subResources": ["column:id", "column:name", "column:email"]}),
            "action": "QUERY",
            "permissions": ["select"],
        }),
        "context": context(),
    }))
    expect(res.decision == "ALLOW", f"decision {res.decision}")
    select = res.permissions["select"]
    expect(select.access.decision == "ALLOW", f"select {select.access}")
    expect(select.rowFilter.filterExpr == "dept = 'mktg'", f"row filter {select.rowFilter}")
    expect(select.rowFilter.policy.id == ROW_FILTER_POLICY, f"row filter policy {select.rowFilter.policy}")
    expect(set(select.subResources) == {"column:id", "column:name", "column:email"}, f"sub-resources {select.subResources}")
    email = select.subResources["column:email"]
    expect(email.access.decision == "ALLOW", f"email {email.access}")
    expect(email.dataMask.maskType == "MASK_HASH", f"email mask {email.dataMask}")
    expect(email.dataMask.policy.id == MASK_POLICY, f"mask policy {email.dataMask.policy}")
    expect(select.subResources["column:id"].dataMask is None, "id is not masked")


@check("authorize")
def readme_quick_start():
    """intg/src/main/python/README.md: `result.decision` of a select."""
    request = RangerAuthzRequest({
        "requestId": "req-1",
        "user": RangerUserInfo({"name": ALICE}),
        "access": RangerAccessInfo({"resource": RangerResourceInfo({"name": "table:default/test_tbl1"}), "permissions": ["select"]}),
        "context": RangerAccessContext({"serviceType": "hive", "serviceName": SERVICE}),
    })
    result = pdp.authorize(request)
    expect(result.decision == "ALLOW", f"decision {result.decision}")


@check("authorize")
def denied_user():
    res = pdp_basic.authorize(RangerAuthzRequest({
        "user": RangerUserInfo({"name": BOB}),
        "access": RangerAccessInfo({"resource": RangerResourceInfo({"name": "table:default/test_tbl1"}), "permissions": ["select", "create"]}),
        "context": context(),
    }))
    expect(res.decision == RangerAuthzResult.DECISION_DENY, f"decision {res.decision}")
    expect(res.permissions["select"].access.decision == "DENY", f"select {res.permissions['select'].access}")
    expect(res.permissions["select"].rowFilter is None, "no row filter on a denial")


@check("authorize")
def delegated_groups():
    """A delegation user vouches for the user's groups (authz-api README: user with groups)."""
    res = pdp_basic.authorize(RangerAuthzRequest({
        "user": RangerUserInfo({"name": "external.user", "groups": [ANALYSTS]}),
        "access": RangerAccessInfo({"resource": RangerResourceInfo({"name": "table:default/test_tbl1"}), "permissions": ["select"]}),
        "context": context(),
    }))
    expect(res.decision == "ALLOW", f"decision {res.decision}")


@check("authorize")
def self_and_delegation():
    own = pdp_alice.authorize(RangerAuthzRequest({
        "user": RangerUserInfo({"name": ALICE}),
        "access": RangerAccessInfo({"resource": RangerResourceInfo({"name": "table:default/test_tbl1"}), "permissions": ["select"]}),
        "context": context(),
    }))
    expect(own.decision == "ALLOW", f"own decision {own.decision}")
    try:
        pdp_alice.authorize(RangerAuthzRequest({
            "user": RangerUserInfo({"name": BOB}),
            "access": RangerAccessInfo({"resource": RangerResourceInfo({"name": "table:default/test_tbl1"}), "permissions": ["select"]}),
            "context": context(),
        }))
    except RangerServiceException as err:
        expect(err.statusCode == 403, f"status {err.statusCode}")
        expect(err.msgDesc == f"{ALICE} is not authorized", f"message {err.msgDesc}")
        return
    raise AssertionError("asking about another user without delegation was not refused")


@check("authorize")
def bad_resource():
    try:
        pdp.authorize(RangerAuthzRequest({
            "user": RangerUserInfo({"name": ALICE}),
            "access": RangerAccessInfo({"resource": RangerResourceInfo({"name": "table:default"}), "permissions": ["select"]}),
            "context": context(),
        }))
    except RangerServiceException as err:
        expect(err.statusCode == 400, f"status {err.statusCode}")
        expect(err.msgDesc.startswith("AUTHZ-400-00-017"), f"message {err.msgDesc}")
        return
    raise AssertionError("a resource name short of its template was accepted")


@check("authorize_multi")
def sample_multi():
    """sample_pdp_client.py req-3 (authz-api README 3.3): a table with columns and owner, and a view to create."""
    res = pdp.authorize_multi(RangerMultiAuthzRequest({
        "requestId": "req-3",
        "user": RangerUserInfo({"name": ALICE}),
        "accesses": [
            RangerAccessInfo({"resource": RangerResourceInfo({"name": "table:default/test_tbl1", "subResources": ["column:id", "column:name", "column:email"], "attributes": {"OWNER": ALICE}}), "permissions": ["select"]}),
            RangerAccessInfo({"resource": RangerResourceInfo({"name": "table:default/test_vw1"}), "permissions": ["create"]}),
        ],
        "context": context(),
    }))
    expect(res.requestId == "req-3", f"requestId {res.requestId}")
    expect(res.decision == RangerAuthzResult.DECISION_PARTIAL, f"decision {res.decision}")
    expect(len(res.accesses) == 2, f"accesses {res.accesses}")
    expect(isinstance(res.accesses[0], RangerAuthzResult), "accesses are RangerAuthzResults")
    expect(res.accesses[0].decision == "ALLOW", f"first {res.accesses[0].decision}")
    expect(res.accesses[1].decision == "DENY", f"second {res.accesses[1].decision}")


@check("authorize_multi")
def multi_all_allowed():
    res = pdp.authorize_multi({
        "user": {"name": ALICE},
        "accesses": [
            {"resource": {"name": "table:default/test_tbl1"}, "permissions": ["select"]},
            {"resource": {"name": "column:default/test_tbl1/email"}, "permissions": ["select"]},
        ],
        "context": {"serviceName": SERVICE},
    })
    expect(res.decision == "ALLOW", f"decision {res.decision}")
    email = res.accesses[1].permissions["select"]
    expect(email.dataMask.maskType == "MASK_HASH", f"column mask {email.dataMask}")


@check("get_resource_permissions")
def sample_permissions():
    """sample_pdp_client.py req-4."""
    res = pdp.get_resource_permissions(RangerResourcePermissionsRequest({
        "requestId": "req-4",
        "resource": RangerResourceInfo({"name": "table:default/test_tbl1"}),
        "context": context(),
    }))
    expect(res.resource.name == "table:default/test_tbl1", f"resource {res.resource}")
    group = res.groups[ANALYSTS]
    expect(group["select"].access.decision == "ALLOW", f"select {group['select']}")
    expect(group["create"].access.policy.id == ACCESS_POLICY, f"create {group['create']}")


@check("get_resource_permissions")
def permissions_need_delegation():
    try:
        pdp_alice.get_resource_permissions({"resource": {"name": "table:default/test_tbl1"}, "context": {"serviceName": SERVICE}})
    except RangerServiceException as err:
        expect(err.statusCode == 403, f"status {err.statusCode}")
        return
    raise AssertionError("a caller outside the delegation list listed permissions")


FILTER_RESOURCES = API("authz/v1/filterResources", HttpMethod.POST, HTTPStatus.OK)


@check("filter_resources")
def filter_resources():
    """RANGER-5784's filterResources, which this client version predates: through its HTTP layer."""
    res = pdp.client_http.call_api(FILTER_RESOURCES, request_data={
        "requestId": "req-5",
        "user": {"name": ALICE},
        "resources": [{"name": "table:default/test_tbl1"}, {"name": "table:default/test_vw1"}],
        "action": "select",
        "permissions": ["select"],
        "context": {"serviceName": SERVICE},
    })
    expect(res["requestId"] == "req-5", f"requestId {res}")
    expect(res["resources"] == [{"name": "table:default/test_tbl1"}], f"resources {res}")


done()
