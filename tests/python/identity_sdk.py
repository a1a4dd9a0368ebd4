"""azure-identity against the emulator over https.

AuthorizationCodeCredential redeems a code the emulator's sign-in page gave
a browser (azure-identity's own token client, not MSAL's), a management
client uses it, the credential refreshes with its refresh token once the
access token nears its expiry, and a code redeemed twice is refused with
`invalid_grant`. azure-identity refuses an http authority, which is checked
too. Prints one JSON line.
"""

import json
import os
import time
import urllib.parse

import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import AuthorizationCodeCredential
from azure.mgmt.resource.resources import ResourceManagementClient

from emulator_signin import CLIENT_ID, HOST, REDIRECT, TENANT, USERNAME

SECRET = os.environ["CLIENT_SECRET"]
SUBSCRIPTION = os.environ["SUBSCRIPTION"]
SCOPE = "https://management.azure.com/.default"


def browser_code():
    """Signs in as a browser would, without PKCE: the code the redirect carries."""
    query = urllib.parse.urlencode({
        "client_id": CLIENT_ID, "response_type": "code", "redirect_uri": REDIRECT,
        "scope": "https://management.azure.com/user_impersonation offline_access", "state": "s1",
    })
    authorize = f"{HOST}/{TENANT}/oauth2/v2.0/authorize"
    session = requests.Session()
    assert session.get(f"{authorize}?{query}").status_code == 200
    fields = dict(urllib.parse.parse_qsl(query), user=USERNAME, decision="accept")
    answer = session.post(authorize, data=fields, allow_redirects=False)
    assert answer.status_code == 302, answer.text
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(answer.headers["Location"]).query))
    assert params["state"] == "s1", params
    return params["code"]


def credential(code):
    return AuthorizationCodeCredential(
        TENANT, CLIENT_ID, code, REDIRECT, client_secret=SECRET, authority=HOST,
        disable_instance_discovery=True,
    )


# An http authority is refused before any request.
try:
    AuthorizationCodeCredential(TENANT, CLIENT_ID, "x", REDIRECT, client_secret=SECRET,
                                authority=HOST.replace("https://", "http://"))
    raise AssertionError("azure-identity accepted an http authority")
except ValueError as e:
    assert "https" in str(e), e

first = credential(browser_code())
token = first.get_token(SCOPE)
assert token.token.count(".") == 2 and token.expires_on > 0, token
# The same credential answers from its cache.
assert first.get_token(SCOPE).token == token.token

# Once its access token has expired, the credential redeems its refresh
# token for a new one (the emulator's tokens are made to live two seconds).
settings = {"action": "settings", "access_token_lifetime_secs": 2}
assert requests.post(f"{HOST}/_sim/commands", json=settings).status_code == 204
short = credential(browser_code())
before = short.get_token(SCOPE)
time.sleep(3)
after = short.get_token(SCOPE)
assert after.token != before.token, "the credential did not refresh"
grants = [r.get("grant") for r in requests.get(f"{HOST}/_sim/requests").json()["value"] if r.get("grant")]
assert grants.count("refresh_token") >= 1, grants

groups = ResourceManagementClient(first, SUBSCRIPTION, base_url=HOST, credential_scopes=[SCOPE])
made = groups.resource_groups.create_or_update("sdk-identity", {"location": "westeurope"})
assert made.name == "sdk-identity", made

# A code is single-use: a second credential with it fails as Entra answers.
code = browser_code()
credential(code).get_token(SCOPE)
try:
    credential(code).get_token(SCOPE)
    raise AssertionError("a redeemed code was accepted again")
except ClientAuthenticationError as e:
    assert "invalid_grant" in str(e), e

print(json.dumps({"group": made.name, "expires_on": token.expires_on}))
