"""The simulated Meta app: Facebook Login, user and page tokens, webhook subscriptions, debug_token.

`SimMetaApp` is the part of the simulated Meta a business meets when it connects pages: the OAuth
dialog (a small page listing the simulated person's pages with Allow and Cancel), the code and
long-lived token exchanges of `/oauth/access_token`, `/me`, `/me/accounts` (paged),
`/{page-id}/subscribed_apps`, `/debug_token` and `/{app-id}/subscriptions`, whose POST first runs
the `hub.challenge` handshake against the callback URL as Meta does. Every call made with an
access token must carry the right `appsecret_proof`, else Meta's error answers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

import httpx
import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from leadsync.sim.threads import decode_cursor, encode_cursor, graph_error

if TYPE_CHECKING:
    from leadsync.sim.graph import SimGraph

DEFAULT_SCOPES = (
    "pages_show_list",
    "pages_manage_metadata",
    "pages_messaging",
    "pages_read_engagement",
    "instagram_basic",
    "instagram_manage_messages",
    "business_management",
)
LONG_LIVED_S = 60 * 86400
CODE_TTL_S = 600


@dataclass
class SimUser:
    """A person who manages some of the simulated pages and grants the app some permissions."""

    id: str
    name: str
    page_ids: list[str]
    scopes: list[str] = field(default_factory=lambda: list(DEFAULT_SCOPES))


@dataclass
class _Code:
    user_id: str
    redirect_uri: str
    issued: float
    used: bool = False


def proof_of(token: str, secret: str) -> str:
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def signed_request(payload: dict[str, Any], secret: str) -> str:
    """What Meta posts to the deauthorize and data-deletion callbacks (base64url, no padding)."""
    body = base64.urlsafe_b64encode(orjson.dumps(payload)).rstrip(b"=")
    sig = base64.urlsafe_b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return f"{sig.rstrip(b'=').decode()}.{body.decode()}"


class SimMetaApp:
    """State and routes of the simulated app; lives inside a `SimGraph` (same server)."""

    def __init__(self, graph: SimGraph, *, app_id: str, app_secret: str) -> None:
        self.graph = graph
        self.app_id = app_id
        self.app_secret = app_secret
        self.users: dict[str, SimUser] = {}
        self.person: str | None = None  # who is "signed in to Facebook" in the dialog
        self.user_tokens: dict[str, str] = {}  # user token -> user id
        self.codes: dict[str, _Code] = {}
        self.page_subscriptions: dict[str, list[str]] = {}  # page id -> our subscribed fields
        self.app_subscriptions: dict[str, dict[str, Any]] = {}  # object -> subscription
        self.page_scopes: dict[str, list[str]] = {}  # page id -> scopes its token reports
        self.handshakes = 0
        self.proof_refusals = 0

    @property
    def app_token(self) -> str:
        return f"{self.app_id}|{self.app_secret}"

    def routes(self) -> list[Route]:
        return [
            Route("/{version}/dialog/oauth", self._dialog),
            Route("/{version}/dialog/oauth/answer", self._answer, methods=["POST"]),
            Route("/{version}/oauth/access_token", self._access_token),
            Route("/{version}/debug_token", self._debug_token),
            Route("/{version}/me/accounts", self._accounts),
            Route("/{version}/me", self._me),
            Route(
                "/{version}/{object_id}/subscribed_apps",
                self._subscribed_apps,
                methods=["GET", "POST", "DELETE"],
            ),
            Route(
                "/{version}/{object_id}/subscriptions", self._subscriptions, methods=["GET", "POST", "DELETE"]
            ),
        ]

    # --- building the data -------------------------------------------------------------------

    def add_user(
        self, user_id: str, name: str, page_ids: list[str], scopes: list[str] | None = None
    ) -> SimUser:
        user = SimUser(user_id, name, list(page_ids), list(scopes or DEFAULT_SCOPES))
        self.users[user_id] = user
        self.person = self.person or user_id
        return user

    def issue_code(self, user_id: str, redirect_uri: str) -> str:
        code = "AQ" + secrets.token_urlsafe(24)
        self.codes[code] = _Code(user_id, redirect_uri, time.monotonic())
        return code

    def user_token(self, user_id: str) -> str:
        """A fresh user token for `user_id`, as a client that did the OAuth dance would hold."""
        token = "EAAU" + secrets.token_urlsafe(24)
        self.user_tokens[token] = user_id
        return token

    def drop_subscription(self, page_id: str) -> None:
        """What Meta does after an hour of failed deliveries: the page no longer sends us events."""
        self.page_subscriptions.pop(page_id, None)

    def revoke_page_token(self, page_id: str) -> str:
        """The page's token dies (a password change, a lost role); returns the dead token."""
        token = self.graph.pages[page_id].token
        self.graph.expired_tokens.add(token)
        return token

    def renew_page_token(self, page_id: str) -> str:
        """A reconnect: `/me/accounts` now hands out a new token for the page."""
        page = self.graph.pages[page_id]
        page.token = "EAAP" + secrets.token_urlsafe(24)
        return page.token

    # --- checks ------------------------------------------------------------------------------

    def check_proof(self, params: dict[str, str]) -> Response | None:
        """Meta's answer to a token call without the right appsecret_proof; None when right."""
        token = params.get("access_token")
        if token is None:
            return None
        proof = params.get("appsecret_proof")
        if not proof:
            self.proof_refusals += 1
            return graph_error(
                100, "API calls from the server require an appsecret_proof argument", "GraphMethodException"
            )
        if not hmac.compare_digest(proof, proof_of(token, self.app_secret)):
            self.proof_refusals += 1
            return graph_error(
                100, "Invalid appsecret_proof provided in the API argument", "GraphMethodException"
            )
        return None

    async def _params(self, request: Request) -> dict[str, str]:
        params = dict(request.query_params)
        if request.method == "POST":
            params.update(await _form(request))
        return params

    async def _authorised(self, request: Request) -> tuple[dict[str, str], Response | None]:
        self.graph.calls[request.url.path.rsplit("/", 1)[-1]] += 1
        if self.graph.down:
            return {}, Response(b"Service Unavailable", status_code=500)
        params = await self._params(request)
        if "access_token" not in params:
            return params, graph_error(
                104, "An access token is required to request this resource.", "OAuthException"
            )
        return params, self.check_proof(params)

    def _user_of(self, token: str) -> SimUser | None:
        user_id = self.user_tokens.get(token)
        return self.users.get(user_id) if user_id and token not in self.graph.expired_tokens else None

    @staticmethod
    def _bad_token() -> Response:
        return graph_error(190, "Invalid OAuth access token - Cannot parse access token", "OAuthException")

    # --- the dialog --------------------------------------------------------------------------

    async def _dialog(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != self.app_id or not q.get("redirect_uri"):
            return HTMLResponse("<h1>Invalid App ID or redirect_uri</h1>", status_code=400)
        user = self.users.get(self.person or "")
        if user is None:
            return HTMLResponse("<h1>No simulated person is signed in to Facebook</h1>", status_code=400)
        items = "".join(
            f"<li>{html.escape(self.graph.pages[p].name or p)}</li>"
            for p in user.page_ids
            if p in self.graph.pages
        )
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in q.items()
            if k in {"redirect_uri", "state"}
        )
        asked = html.escape(q.get("scope") or f"configuration {q.get('config_id', '')}")
        return HTMLResponse(
            "<!doctype html><title>Log in with Facebook (simulated)</title>"
            f"<h1>leadsync wants to manage your pages</h1><p>Signed in as "
            f"{html.escape(user.name)}. Asks for: {asked}</p><ul>{items}</ul>"
            f'<form method="post" action="/{q.get("version", request.path_params["version"])}'
            f'/dialog/oauth/answer">{hidden}'
            '<button name="answer" value="allow">Allow</button> '
            '<button name="answer" value="cancel">Cancel</button></form>'
        )

    async def _answer(self, request: Request) -> Response:
        form = await _form(request)
        redirect_uri = str(form.get("redirect_uri", ""))
        state = str(form.get("state", ""))
        if form.get("answer") == "allow" and self.person:
            query = {"code": self.issue_code(self.person, redirect_uri), "state": state}
        else:
            query = {
                "error": "access_denied",
                "error_code": "200",
                "error_description": "Permissions error",
                "error_reason": "user_denied",
                "state": state,
            }
        sep = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(f"{redirect_uri}{sep}{urlencode(query)}", status_code=302)

    # --- tokens ------------------------------------------------------------------------------

    async def _access_token(self, request: Request) -> Response:
        self.graph.calls["access_token"] += 1
        q = request.query_params
        if q.get("client_id") != self.app_id:
            return graph_error(101, "Error validating application. Invalid application ID.", "OAuthException")
        if not hmac.compare_digest(q.get("client_secret", ""), self.app_secret):
            return graph_error(1, "Error validating client secret.", "OAuthException")
        if q.get("grant_type") == "fb_exchange_token":
            user = self._user_of(q.get("fb_exchange_token", ""))
            if user is None:
                return self._bad_token()
            return self._token_answer(self.user_token(user.id), LONG_LIVED_S)
        code = self.codes.get(q.get("code", ""))
        if code is None:
            return graph_error(100, "Invalid verification code format.", "OAuthException", subcode=36007)
        if code.used or time.monotonic() - code.issued > CODE_TTL_S:
            code.used = True
            return graph_error(100, "This authorization code has been used.", "OAuthException", subcode=36009)
        if q.get("redirect_uri") != code.redirect_uri:
            return graph_error(
                100,
                "Error validating verification code. Please make sure your "
                "redirect_uri is identical to the one you used in the OAuth dialog "
                "request",
                "OAuthException",
                subcode=36008,
            )
        code.used = True
        return self._token_answer(self.user_token(code.user_id), 5400)

    @staticmethod
    def _token_answer(token: str, expires_in: int) -> Response:
        return _json({"access_token": token, "token_type": "bearer", "expires_in": expires_in})

    async def _user_call(self, request: Request) -> tuple[dict[str, str], SimUser | Response]:
        params, err = await self._authorised(request)
        if err is not None:
            return params, err
        user = self._user_of(params["access_token"])
        return params, self._bad_token() if user is None else user

    async def _me(self, request: Request) -> Response:
        _, user = await self._user_call(request)
        if isinstance(user, Response):
            return user
        return _json({"id": user.id, "name": user.name})

    async def _accounts(self, request: Request) -> Response:
        params, user = await self._user_call(request)
        if isinstance(user, Response):
            return user
        fields = params.get("fields", "id,name,access_token")
        pages = [self.graph.pages[p] for p in user.page_ids if p in self.graph.pages]
        start = decode_cursor(params.get("after"))
        limit = min(int(params.get("limit", 25)), 100)
        chosen = pages[start : start + limit]
        data = []
        for page in chosen:
            item: dict[str, Any] = {
                "id": page.id,
                "name": page.name or page.id,
                "tasks": ["MESSAGING", "MANAGE"],
            }
            if "access_token" in fields:
                item["access_token"] = page.token
            if "instagram_business_account" in fields and page.instagram_account_id:
                item["instagram_business_account"] = {
                    "id": page.instagram_account_id,
                    "username": (page.name or page.id).lower().replace(" ", "_"),
                }
            data.append(item)
        body: dict[str, Any] = {"data": data}
        if chosen:
            body["paging"] = {
                "cursors": {"before": encode_cursor(start), "after": encode_cursor(start + len(chosen))}
            }
            if start + len(chosen) < len(pages):
                after = encode_cursor(start + len(chosen))
                body["paging"]["next"] = (
                    f"{self.graph.base_url}{request.url.path}?{urlencode({**params, 'after': after})}"
                )
        return _json(body)

    async def _debug_token(self, request: Request) -> Response:
        params, err = await self._authorised(request)
        if err is not None:
            return err
        if params["access_token"] != self.app_token:
            return graph_error(
                100,
                "You must provide an app access token, or a user access token "
                "that is an owner or developer of the app",
                "OAuthException",
            )
        token = params.get("input_token", "")
        now = int(time.time())
        page = next((p for p in self.graph.pages.values() if p.token == token), None)
        user = self.users.get(self.user_tokens.get(token, ""))
        data: dict[str, Any] = {
            "app_id": self.app_id,
            "application": "leadsync",
            "issued_at": now - 3600,
            "data_access_expires_at": now + 90 * 86400,
        }
        if page is not None:
            owner = next((u for u in self.users.values() if page.id in u.page_ids), None)
            data.update(
                type="PAGE",
                profile_id=page.id,
                expires_at=0,
                user_id=owner.id if owner else "0",
                scopes=self.page_scopes.get(page.id, owner.scopes if owner else []),
            )
        elif user is not None:
            data.update(type="USER", user_id=user.id, expires_at=now + LONG_LIVED_S, scopes=user.scopes)
        else:
            data.update(
                is_valid=False,
                scopes=[],
                expires_at=0,
                error={"code": 190, "message": "Invalid OAuth access token.", "subcode": 467},
            )
            return _json({"data": data})
        if token in self.graph.expired_tokens:
            data.update(
                is_valid=False,
                expires_at=now - 60,
                error={
                    "code": 190,
                    "subcode": 463,
                    "message": "Error validating access token: Session has expired.",
                },
            )
        else:
            data["is_valid"] = True
        return _json({"data": data})

    # --- webhook subscriptions ---------------------------------------------------------------

    async def _subscribed_apps(self, request: Request) -> Response:
        params, err = await self._authorised(request)
        if err is not None:
            return err
        page_id = request.path_params["object_id"]
        page = self.graph.pages.get(page_id)
        token = params["access_token"]
        if page is None or page.token != token or token in self.graph.expired_tokens:
            return graph_error(
                190,
                "Error validating access token: The session has been "
                "invalidated because the user changed their password or Facebook "
                "has changed the session for security reasons.",
                "OAuthException",
                subcode=460,
            )
        if request.method == "GET":
            subscribed = self.page_subscriptions.get(page_id)
            data = (
                []
                if subscribed is None
                else [
                    {
                        "category": "Business",
                        "link": "https://leadsync.example/",
                        "name": "leadsync",
                        "id": self.app_id,
                        "subscribed_fields": subscribed,
                    }
                ]
            )
            return _json({"data": data})
        if request.method == "DELETE":
            self.page_subscriptions.pop(page_id, None)
            return _json({"success": True})
        fields = [f for f in params.get("subscribed_fields", "").split(",") if f]
        if not fields:
            return graph_error(100, "(#100) The parameter subscribed_fields is required.", "OAuthException")
        self.page_subscriptions[page_id] = fields
        return _json({"success": True})

    async def _subscriptions(self, request: Request) -> Response:
        params, err = await self._authorised(request)
        if err is not None:
            return err
        if request.path_params["object_id"] != self.app_id or params["access_token"] != self.app_token:
            return graph_error(
                15, "(#15) This method must be called with an app access_token.", "OAuthException"
            )
        if request.method == "GET":
            return _json({"data": list(self.app_subscriptions.values())})
        obj = params.get("object", "")
        if request.method == "DELETE":
            self.app_subscriptions.pop(obj, None) if obj else self.app_subscriptions.clear()
            return _json({"success": True})
        if obj not in {"page", "instagram", "user", "permissions"}:
            return graph_error(
                100,
                "(#100) Param object must be one of {user, page, permissions, instagram, …}",
                "OAuthException",
            )
        callback = params.get("callback_url", "")
        failure = await self._handshake(callback, params.get("verify_token", ""))
        if failure:
            return graph_error(
                2200,
                f"(#2200) Callback verification failed with the following errors: {failure}",
                "OAuthException",
            )
        fields = [f for f in params.get("fields", "").split(",") if f]
        old = self.app_subscriptions.get(obj, {}).get("fields", [])
        names = [f["name"] for f in old] + [f for f in fields if f not in {o["name"] for o in old}]
        self.app_subscriptions[obj] = {
            "object": obj,
            "callback_url": callback,
            "active": True,
            "fields": [{"name": n, "version": self.graph.version} for n in names],
        }
        return _json({"success": True})

    async def _handshake(self, callback: str, verify_token: str) -> str:
        """Meta's verification request against the callback; an error text when it fails."""
        self.handshakes += 1
        challenge = str(secrets.randbelow(10**9))
        try:
            async with httpx.AsyncClient(timeout=5) as http:
                r = await http.get(
                    callback,
                    params={
                        "hub.mode": "subscribe",
                        "hub.challenge": challenge,
                        "hub.verify_token": verify_token,
                    },
                )
        except httpx.HTTPError as exc:
            return f"curl_errno = 7; curl_error = Couldn't connect to server ({type(exc).__name__})"
        if r.status_code != 200:
            return f"HTTP Status Code = {r.status_code}; HTTP Message = {r.reason_phrase}"
        if r.text != challenge:
            return (
                "The URL couldn't be validated. Response does not match challenge, expected "
                f'value="{challenge}", received="{r.text[:40]}"'
            )
        return ""


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded body (the simulator needs no multipart)."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    return dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))


def _json(body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")
