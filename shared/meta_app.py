"""The Meta app's own Graph calls: Facebook Login's token exchanges, the person's pages, webhook
subscriptions at the page and the app level, and `debug_token` (DESIGN §3 "Connecting pages").

Every call goes through `GraphClient` (so it carries `appsecret_proof` and its errors are
classified); the user token a person grants is only ever a parameter here, never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.graph import GraphClient
from shared.settings import GraphSettings

# What a page must send us (DESIGN §3): the page level needs at least these Messenger fields.
PAGE_FIELDS = ("messages", "message_echoes", "messaging_postbacks", "message_edits")
# The app level, per object: Instagram echoes come with `messages`.
APP_FIELDS = {"page": PAGE_FIELDS, "instagram": ("messages", "messaging_postbacks")}
# Permissions leadsync needs, and why (docs/operations.md lists them for the Meta dashboard).
PAGE_SCOPES = ("pages_show_list", "pages_manage_metadata", "pages_messaging", "pages_read_engagement")
INSTAGRAM_SCOPES = ("instagram_basic", "instagram_manage_messages")
LOGIN_SCOPES = (*PAGE_SCOPES, *INSTAGRAM_SCOPES, "business_management")
ACCOUNT_FIELDS = "id,name,access_token,tasks,instagram_business_account{id,username}"


@dataclass(frozen=True)
class AccountPage:
    """One page of the person's `/me/accounts`, with its page token."""

    id: str
    name: str
    access_token: str
    instagram_account_id: str | None
    instagram_username: str | None


class MetaApp:
    """The app's calls; `app_token` is `{app-id}|{app-secret}`, as Meta accepts for app calls."""

    def __init__(self, graph: GraphClient, *, app_id: str, app_secret: str) -> None:
        self.graph = graph
        self.app_id = app_id
        self._secret = app_secret

    @classmethod
    def from_settings(cls, settings: GraphSettings, graph: GraphClient) -> MetaApp | None:
        """None when META_APP_ID or META_APP_SECRET is missing (nothing can be connected)."""
        secret = settings.graph_app_secret
        if not settings.meta_app_id or not secret:
            return None
        return cls(graph, app_id=settings.meta_app_id, app_secret=secret)

    @property
    def app_token(self) -> str:
        return f"{self.app_id}|{self._secret}"

    async def _get(self, path: str, token: str | None, **params: Any) -> dict[str, Any]:
        return await self.graph.call(path, params, token=token, pace=None)

    # --- Facebook Login ----------------------------------------------------------------------

    async def exchange_code(self, code: str, redirect_uri: str) -> str:
        """The dialog's code → a short-lived user token (the redirect_uri must match the dialog's)."""
        body = await self._get(
            "oauth/access_token",
            None,
            client_id=self.app_id,
            client_secret=self._secret,
            redirect_uri=redirect_uri,
            code=code,
        )
        return str(body["access_token"])

    async def long_lived(self, user_token: str) -> str:
        """A short-lived user token → a long-lived one (about 60 days), whose page tokens last."""
        body = await self._get(
            "oauth/access_token",
            None,
            grant_type="fb_exchange_token",
            client_id=self.app_id,
            client_secret=self._secret,
            fb_exchange_token=user_token,
        )
        return str(body["access_token"])

    async def me(self, user_token: str) -> dict[str, str]:
        body = await self._get("me", user_token, fields="id,name")
        return {"id": str(body.get("id", "")), "name": str(body.get("name", ""))}

    async def accounts(self, user_token: str) -> list[AccountPage]:
        """Every page of `/me/accounts` (it pages like any edge), with its Instagram account."""
        found: list[AccountPage] = []
        after: str | None = None
        while True:
            params: dict[str, Any] = {"fields": ACCOUNT_FIELDS, "limit": 100}
            if after:
                params["after"] = after
            body = await self._get("me/accounts", user_token, **params)
            for item in body.get("data") or []:
                if not isinstance(item, dict) or not item.get("id") or not item.get("access_token"):
                    continue
                ig = item.get("instagram_business_account") or {}
                found.append(
                    AccountPage(
                        str(item["id"]),
                        str(item.get("name") or item["id"]),
                        str(item["access_token"]),
                        str(ig["id"]) if ig.get("id") else None,
                        str(ig["username"]) if ig.get("username") else None,
                    )
                )
            paging = body.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            if not paging.get("next") or not after:
                return found

    # --- webhook subscriptions ---------------------------------------------------------------

    async def page_fields(self, page_id: str, page_token: str) -> list[str] | None:
        """The fields our app is subscribed to on the page; None when it is not subscribed."""
        body = await self._get(f"{page_id}/subscribed_apps", page_token)
        for app in body.get("data") or []:
            if isinstance(app, dict) and str(app.get("id")) == self.app_id:
                return [str(f) for f in app.get("subscribed_fields") or []]
        return None

    async def subscribe_page(self, page_id: str, page_token: str) -> None:
        await self.graph.call(
            f"{page_id}/subscribed_apps",
            {"subscribed_fields": ",".join(PAGE_FIELDS)},
            token=page_token,
            pace=None,
            method="POST",
        )

    async def unsubscribe_page(self, page_id: str, page_token: str) -> None:
        await self.graph.call(f"{page_id}/subscribed_apps", {}, token=page_token, pace=None, method="DELETE")

    async def app_subscriptions(self) -> list[dict[str, Any]]:
        body = await self._get(f"{self.app_id}/subscriptions", self.app_token)
        return [s for s in body.get("data") or [] if isinstance(s, dict)]

    async def subscribe_app(self, obj: str, callback_url: str, verify_token: str) -> None:
        """Meta runs the hub.challenge handshake against `callback_url` before it answers."""
        await self.graph.call(
            f"{self.app_id}/subscriptions",
            {
                "object": obj,
                "callback_url": callback_url,
                "verify_token": verify_token,
                "fields": ",".join(APP_FIELDS[obj]),
                "include_values": "true",
            },
            token=self.app_token,
            pace=None,
            method="POST",
        )

    # --- tokens ------------------------------------------------------------------------------

    async def debug_token(self, token: str) -> dict[str, Any]:
        body = await self._get("debug_token", self.app_token, input_token=token)
        data = body.get("data")
        return data if isinstance(data, dict) else {}


def app_subscription_gaps(held: list[dict[str, Any]], callback_url: str) -> dict[str, Any]:
    """What Meta holds for each object next to what leadsync needs (pure)."""
    report: dict[str, Any] = {}
    for obj, needed in APP_FIELDS.items():
        sub = next((s for s in held if s.get("object") == obj), None)
        fields = [str(f.get("name")) for f in (sub or {}).get("fields") or [] if isinstance(f, dict)]
        report[obj] = {
            "subscribed": bool(sub and sub.get("active", True)),
            "callback_url": (sub or {}).get("callback_url"),
            "callback_ok": bool(sub) and (sub or {}).get("callback_url") == callback_url,
            "fields": fields,
            "missing_fields": [f for f in needed if f not in fields],
        }
    return report
