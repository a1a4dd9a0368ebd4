"""An OAuth 2.0 client that is not ours (requests-oauthlib, on oauthlib)
against the emulator's DigitalOcean authorization server, then DigitalOcean's
own Python client (pydo) with the token it got: the authorization link with
PKCE, the authorization page answered for a team, the code exchanged with the
client's secret, the token acting for that team at /v2/account, a refresh
that rotates the refresh token (the old one then refused with invalid_grant),
and a revocation after which the token no longer works.

    python digitalocean_oauth.py BASE_URL CLIENT_ID CLIENT_SECRET REDIRECT_URI TEAM

Over https, REQUESTS_CA_BUNDLE names the emulator's authority. Exits
non-zero with a message on the first mismatch; prints one JSON line on
success.
"""

import base64
import hashlib
import html
import json
import re
import secrets
import sys

import pydo
import requests
from azure.core.exceptions import ClientAuthenticationError
from oauthlib.oauth2 import InvalidGrantError
from requests_oauthlib import OAuth2Session


def fail(message, seen=None):
    print(f"digitalocean_oauth.py: {message}" + (f": {seen!r}" if seen is not None else ""), file=sys.stderr)
    sys.exit(1)


def main():
    base, client_id, client_secret, redirect_uri, team = sys.argv[1:6]
    token_url = f"{base}/v1/oauth/token"

    # The authorization link, with a PKCE challenge made here.
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    oauth = OAuth2Session(client_id, redirect_uri=redirect_uri, scope=["read", "write"])
    link, state = oauth.authorization_url(
        f"{base}/v1/oauth/authorize", code_challenge=challenge, code_challenge_method="S256"
    )

    # The page a person sees, answered for the team as they would.
    page = requests.get(link, timeout=10)
    if page.status_code != 200 or "Authorize Application" not in page.text:
        fail("the authorization page", page.status_code)
    if f'<option value="{team}"' not in page.text:
        fail("the page offers the team", team)
    form = {n: html.unescape(v) for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text)}
    form.update(team=team, decision="authorize")
    answer = requests.post(f"{base}/v1/oauth/authorize", data=form, allow_redirects=False, timeout=10)
    back = answer.headers.get("location", "")
    if answer.status_code != 302 or not back.startswith(redirect_uri):
        fail("the page sends the browser back", (answer.status_code, back))

    # The code exchanged: oauthlib checks the state and reads the answer.
    token = oauth.fetch_token(
        token_url, authorization_response=back, client_secret=client_secret, code_verifier=verifier
    )
    for field in ("access_token", "refresh_token", "expires_in", "scope"):
        if field not in token:
            fail(f"the token answer has {field}", token)
    if token["token_type"].lower() != "bearer" or not token["access_token"].startswith("doo_v1_"):
        fail("a DigitalOcean OAuth access token", token["token_type"])
    if sorted(token["scope"]) != ["read", "write"]:
        fail("the scopes granted", token["scope"])

    # DigitalOcean's own client, with that token, acts for the team chosen.
    account = pydo.Client(token=token["access_token"], endpoint=base).account.get()["account"]
    if account["team"]["uuid"] != team:
        fail("the token acts for the team chosen", account["team"])

    # A refresh rotates the refresh token; the old one is spent.
    first = token["refresh_token"]
    renewed = oauth.refresh_token(token_url, refresh_token=first, auth=(client_id, client_secret))
    if renewed["refresh_token"] == first or renewed["access_token"] == token["access_token"]:
        fail("a refresh gives new tokens", renewed)
    try:
        oauth.refresh_token(token_url, refresh_token=first, auth=(client_id, client_secret))
        fail("a spent refresh token is refused")
    except InvalidGrantError:
        pass

    # Revoked, the authorization's token no longer works.
    revoke = requests.post(
        f"{base}/v1/oauth/revoke",
        data={"token": renewed["access_token"]},
        headers={"authorization": f"Bearer {renewed['access_token']}"},
        timeout=10,
    )
    if revoke.status_code != 200:
        fail("the revocation", (revoke.status_code, revoke.text))
    try:
        pydo.Client(token=renewed["access_token"], endpoint=base).account.get()
        fail("a revoked token is refused")
    except ClientAuthenticationError:
        pass

    print(json.dumps({"team": account["team"]["uuid"], "scopes": token["scope"], "refreshed": True, "revoked": True}))


if __name__ == "__main__":
    main()
