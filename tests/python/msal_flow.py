"""MSAL's recommended web-app flow against the emulator over https.

Reads its settings from the environment; prints one JSON line of what it saw.
Every check is one real Entra ID would pass: MSAL refuses a plain-http
authority, checks the id_token's nonce and audience, and builds the
account's home id from the token response's client_info.
"""

import hashlib
import json
import os
import urllib.parse

import msal
import requests

host = os.environ["EMULATOR"]
tenant = os.environ["TENANT"]
client_id = os.environ["CLIENT_ID"]
redirect = os.environ["REDIRECT_URI"]
scopes = ["https://management.azure.com/user_impersonation"]

app = msal.ConfidentialClientApplication(
    client_id,
    client_credential=os.environ["CLIENT_SECRET"],
    authority=f"{host}/{tenant}",
    # A private host is not in Microsoft's instance list; MSAL documents
    # turning discovery off for such authorities.
    instance_discovery=False,
)
flow = app.initiate_auth_code_flow(scopes, redirect_uri=redirect)
assert "code_verifier" in flow and "nonce" in flow, flow

# The user signs in and consents on the emulator's page.
session = requests.Session()
page = session.get(flow["auth_uri"])
assert page.status_code == 200, page.text
asked = urllib.parse.urlsplit(flow["auth_uri"])
fields = dict(urllib.parse.parse_qsl(asked.query))
fields.update(user=os.environ["USERNAME"], decision="accept")
answer = session.post(
    f"{asked.scheme}://{asked.netloc}{asked.path}", data=fields, allow_redirects=False
)
assert answer.status_code == 302, (answer.status_code, answer.text)
back = urllib.parse.urlsplit(answer.headers["Location"])
assert f"{back.scheme}://{back.netloc}{back.path}" == redirect, back
params = dict(urllib.parse.parse_qsl(back.query))

result = app.acquire_token_by_auth_code_flow(flow, params)
assert "access_token" in result, result
claims = result["id_token_claims"]
# MSAL sends the SHA-256 of its nonce and has checked the echo already;
# check it independently too.
assert claims["nonce"] == hashlib.sha256(flow["nonce"].encode()).hexdigest(), claims
assert claims["aud"] == client_id, claims
assert claims["tid"] == tenant, claims

accounts = app.get_accounts()
assert len(accounts) == 1, accounts
account = accounts[0]
assert account["home_account_id"] == f"{claims['oid']}.{claims['tid']}", account
assert account["username"] == os.environ["USERNAME"], account

# A silent refresh with the cached refresh token.
again = app.acquire_token_silent(scopes, account=account, force_refresh=True)
assert again and "access_token" in again, again
assert again["access_token"] != result["access_token"]

# A replayed code is refused with Entra's error.
replay = app.acquire_token_by_authorization_code(
    params["code"], scopes, redirect_uri=redirect
)
assert replay.get("error") == "invalid_grant", replay

print(json.dumps({"home_account_id": account["home_account_id"], "scope": result.get("scope"), "refreshed": True}))
