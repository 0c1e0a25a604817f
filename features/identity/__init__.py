"""Identity: accounts, logins, sessions, API keys, OpenID Connect sign-in.

Publishes UserRegistered.
"""

from features.identity.api_keys import make_authenticator
from features.identity.create_admin.command import users
from features.identity.create_api_key.handler import create_api_key
from features.identity.finish_oidc_login.handler import finish_oidc_login
from features.identity.get_me.handler import get_me
from features.identity.get_user.handler import get_user
from features.identity.issue_token.handler import issue_token
from features.identity.list_api_keys.handler import list_api_keys
from features.identity.list_users.handler import list_users
from features.identity.logout.handler import logout
from features.identity.refresh_token.handler import refresh_token
from features.identity.register_user.handler import register_user
from features.identity.revoke_api_key.handler import revoke_api_key
from features.identity.start_oidc_login.handler import start_oidc_login
from shared.modules import Module

module = Module(
    name="identity",
    routes=[register_user, issue_token, refresh_token, logout, get_me, get_user, list_users,
            create_api_key, list_api_keys, revoke_api_key, start_oidc_login, finish_oidc_login],
    commands=[users],
    authenticators=[make_authenticator],
)
