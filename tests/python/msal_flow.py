"""MSAL's recommended web-app flow against the emulator over https.

Reads its settings from the environment; prints one JSON line of what it saw.
Every check is one real Entra ID would pass: MSAL refuses a plain-http
authority, checks the id_token's nonce and audience, and builds the
account's home id from the token response's client_info.
"""

import hashlib
import json
import os

import jwt
import requests

from emulator_signin import ARM_SCOPES as scopes, CLIENT_ID as client_id, REDIRECT as redirect
from emulator_signin import HOST, TENANT as tenant, application, sign_in

app = application()
flow, params, result = sign_in(app)
assert "code_verifier" in flow and "nonce" in flow, flow
claims = result["id_token_claims"]
# MSAL sends the SHA-256 of its nonce and has checked the echo already;
# check it independently too.
assert claims["nonce"] == hashlib.sha256(flow["nonce"].encode()).hexdigest(), claims
assert claims["aud"] == client_id, claims
assert claims["tid"] == tenant, claims

# The id_token verifies, RS256, with the key the discovery document
# publishes (PyJWT, which MSAL brings, as any verifying client would).
discovery = requests.get(f"{HOST}/{tenant}/v2.0/.well-known/openid-configuration").json()
assert discovery["id_token_signing_alg_values_supported"] == ["RS256"], discovery
keys = jwt.PyJWKSet.from_dict(requests.get(discovery["jwks_uri"]).json())
kid = jwt.get_unverified_header(result["id_token"])["kid"]
key = next(k for k in keys.keys if k.key_id == kid)
verified = jwt.decode(result["id_token"], key.key, algorithms=["RS256"], audience=client_id, issuer=discovery["issuer"])
assert verified["oid"] == claims["oid"], verified
access = jwt.decode(result["access_token"], key.key, algorithms=["RS256"], audience="https://management.azure.com")
assert access["tid"] == tenant and "user_impersonation" in access["scp"], access
# A token whose signature does not match is refused by the same check.
head, body, _ = result["id_token"].split(".")
try:
    jwt.decode(f"{head}.{body}.AAAA", key.key, algorithms=["RS256"], audience=client_id)
    raise AssertionError("a bad signature verified")
except jwt.InvalidSignatureError:
    pass

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
