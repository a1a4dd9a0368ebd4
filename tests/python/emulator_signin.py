"""Signs in to the emulator with MSAL's recommended web-app flow.

Shared by the scripts here: `sign_in()` runs `initiate_auth_code_flow`, posts
the emulator's sign-in form as the user would, and redeems the answer with
`acquire_token_by_auth_code_flow`; `management()` turns that token into the
credential and options every azure-mgmt client takes. Settings come from the
environment.
"""

import os
import time
import urllib.parse

import msal
import requests
from azure.core.credentials import AccessToken

HOST = os.environ["EMULATOR"]
TENANT = os.environ["TENANT"]
CLIENT_ID = os.environ["CLIENT_ID"]
REDIRECT = os.environ["REDIRECT_URI"]
USERNAME = os.environ["USERNAME"]
ARM_SCOPES = ["https://management.azure.com/user_impersonation"]


def application():
    return msal.ConfidentialClientApplication(
        CLIENT_ID,
        client_credential=os.environ["CLIENT_SECRET"],
        authority=f"{HOST}/{TENANT}",
        # A private host is not in Microsoft's instance list; MSAL documents
        # turning discovery off for such authorities.
        instance_discovery=False,
    )


def sign_in(app):
    """Returns (flow, the redirect's parameters, MSAL's result)."""
    flow = app.initiate_auth_code_flow(ARM_SCOPES, redirect_uri=REDIRECT)
    session = requests.Session()
    page = session.get(flow["auth_uri"])
    assert page.status_code == 200, page.text
    asked = urllib.parse.urlsplit(flow["auth_uri"])
    fields = dict(urllib.parse.parse_qsl(asked.query))
    fields.update(user=USERNAME, decision="accept")
    answer = session.post(
        f"{asked.scheme}://{asked.netloc}{asked.path}", data=fields, allow_redirects=False
    )
    assert answer.status_code == 302, (answer.status_code, answer.text)
    back = urllib.parse.urlsplit(answer.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == REDIRECT, back
    params = dict(urllib.parse.parse_qsl(back.query))
    result = app.acquire_token_by_auth_code_flow(flow, params)
    assert "access_token" in result, result
    return flow, params, result


class Credential:
    """MSAL's ARM token, as azure-core's clients ask for it."""

    def __init__(self, token):
        self.token = token

    def get_token(self, *scopes, **kwargs):
        expires = int(time.time()) + int(self.token["expires_in"])
        return AccessToken(self.token["access_token"], expires)


def management():
    """Signs in; returns the credential and the keyword arguments that point
    a management client at the emulator (and make its pollers not wait)."""
    _, _, token = sign_in(application())
    options = dict(
        base_url=HOST,
        credential_scopes=["https://management.azure.com/.default"],
        polling_interval=0,
    )
    return Credential(token), options
