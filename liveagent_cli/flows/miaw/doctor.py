"""`doctor` against Enhanced Chat: are the settings of a deployment sound, and does its server answer for them?

The same table and exit codes as the Live Agent doctor (flows/doctor.py: ok, warn, fail, info; 4 when the
server cannot be reached, 3 for settings that are wrong). Offline: the Messaging URL's form (https, a
`*.my.salesforce-scrt.com` host, or loopback for the sandbox), the org id (15 or 18 characters; the event
stream is sent the 15-character form), the deployment name, the pre-chat file. Then over the network: the
published configuration (`embedded-service-config`, which also proves TLS and that this is a Messaging
URL), the deployment type (the v2 API serves Custom Client deployments, type `API`), an access token minted
(never shown), the pre-chat form it carries, the event stream opened with `X-Org-Id` and closed at once, and
the business hours. Each request is retried as every step's are (flows/miaw/link.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from liveagent_cli.core.errors import ConfigError, LiveAgentError, NetworkError, NetworkFailure
from liveagent_cli.core.settings import MESSAGING_HOST_SUFFIX, is_loopback
from liveagent_cli.flows.context import Context
from liveagent_cli.flows.deadline import Deadline, give_up_seconds
from liveagent_cli.flows.doctor import Check
from liveagent_cli.flows.miaw.link import new_client, request
from liveagent_cli.flows.verbs import IdentityToken

if TYPE_CHECKING:
    from liveagent_cli.core.miaw.client import MiawClient, TokenGrant

T = TypeVar("T")
MESSAGING_HOSTS = ".my." + MESSAGING_HOST_SUFFIX  # miaw-api.md §1.1: NAME.my.salesforce-scrt.com
STREAM_OPEN_TIMEOUT = 10.0  # seconds for the stream's 200 and headers
CUSTOM_CLIENT = "API"  # the deploymentType of a Custom Client deployment, the only one the v2 API serves
SNIPPET_HINT = (
    "the Messaging URL is in Setup → Embedded Service Deployments → your deployment → Code Snippet "
    "(https://NAME.my.salesforce-scrt.com)"
)
_NOT_MESSAGING = {  # host families people paste by mistake, and what they are
    ".salesforceliveagent.com": "a legacy Chat pod",
    ".salesforce.com": "the org's My Domain (or a Salesforce login host)",
    ".force.com": "a Salesforce site or My Domain",
}


def run_doctor(ctx: Context, prechat_file: Path | None, identity: IdentityToken | None = None) -> list[Check]:
    settings = ctx.settings

    def source(name: str) -> str:
        return f" ({settings.sources[name]})" if name in settings.sources else ""

    api_source = source("api") or " (the pod's host ends in salesforce-scrt.com)"
    checks = [Check("api", "info", f"Enhanced Chat (Messaging for In-App and Web){api_source}")]
    url = _messaging_url(ctx, checks, source("pod"))
    org_id = _org_id(ctx, checks, source("org_id"))
    deployment = _setting(ctx, checks, "deployment_name", source("deployment_name"))
    values = _prechat_values(ctx, checks, prechat_file)
    if url is None or org_id is None or deployment is None or values is None:
        checks.append(Check("server answers", "info", "not tried: fix the settings above first"))
        return checks
    client = new_client(ctx, url, org_id, deployment)
    try:
        checks.extend(_network_checks(ctx, client, url, values, identity))
    finally:
        client.close()
    return checks


# -- the settings ----------------------------------------------------------------------------------------------
def _messaging_url(ctx: Context, checks: list[Check], where: str) -> str | None:
    """The Messaging URL, and a row saying whether its form is one Enhanced Chat serves."""
    try:
        url = str(ctx.settings.require("pod_messaging"))
    except ConfigError as exc:
        checks.append(Check("messaging url", "fail", exc.message, exc))
        return None
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    shown = f"{url}{where}"
    if parts.scheme == "http":
        why = "fine for a loopback server such as the sandbox" if is_loopback(host) else "the token goes unencrypted"
        checks.append(Check("messaging url", "warn", f"{shown}: plain http, {why}"))
        return url
    wrong = next((what for suffix, what in _NOT_MESSAGING.items() if host.endswith(suffix)), None)
    if wrong is not None:
        message = f"{host} is {wrong}, not a Messaging URL"
        checks.append(Check("messaging url", "fail", f"{message}{where}", ConfigError(message, hint=SNIPPET_HINT)))
        return None
    if host.endswith(MESSAGING_HOSTS):
        checks.append(Check("messaging url", "ok", shown))
    elif host.endswith(MESSAGING_HOST_SUFFIX):
        checks.append(Check("messaging url", "warn", f"{shown}: a salesforce-scrt.com host, not *{MESSAGING_HOSTS}"))
    else:
        checks.append(Check("messaging url", "warn", f"{shown}: not *{MESSAGING_HOSTS} (a proxy or an emulator?)"))
    return url


def _org_id(ctx: Context, checks: list[Check], where: str) -> str | None:
    org_id = _setting(ctx, checks, "org_id", where, row=False)
    if org_id is None:
        return None
    if len(org_id) == 18:
        detail = f"{org_id}{where}: 18 characters; the event stream is sent its 15-character form {org_id[:15]}"
    else:
        detail = f"{org_id}{where}: 15 characters, the form the event stream is sent"
    checks.append(Check("org id", "ok", detail))
    return org_id


def _setting(ctx: Context, checks: list[Check], name: str, where: str, *, row: bool = True) -> str | None:
    label = name.replace("_", " ")
    try:
        value = str(ctx.settings.require(name))
    except ConfigError as exc:
        checks.append(Check(label, "fail", exc.message, exc))
        return None
    if row:
        checks.append(Check(label, "ok", f"{value}{where}"))
    return value


def _prechat_values(ctx: Context, checks: list[Check], given: Path | None) -> dict[str, str] | None:
    """The values of --prechat-file (or the profile's), checked against the form once a token brought it."""
    from liveagent_cli.flows.miaw.prechat import read_values_file

    try:
        named = ctx.settings.value("prechat_file")
    except ConfigError as exc:
        checks.append(Check("pre-chat file", "fail", exc.message, exc))
        return None
    file = given or (Path(named) if named else None)
    if file is None:
        return {}
    try:
        values = read_values_file(file.expanduser())
    except LiveAgentError as exc:
        checks.append(Check("pre-chat file", "fail", exc.message, exc))
        return None
    checks.append(Check("pre-chat file", "ok", f"{file}: {len(values)} value(s), checked against the form below"))
    return values


# -- over the network ------------------------------------------------------------------------------------------
def _network_checks(
    ctx: Context, client: MiawClient, url: str, values: dict[str, str] | None, identity: IdentityToken | None
) -> list[Check]:
    checks: list[Check] = []
    host = urlsplit(url).hostname or url
    try:
        config = _call(ctx, lambda timeout: client.embedded_service_config(timeout=timeout))
    except NetworkError as exc:
        tls = exc.failure in (NetworkFailure.TLS_VERIFY, NetworkFailure.TLS, NetworkFailure.PLAIN_HTTP)
        return [Check("tls" if tls else "reachable", "fail", exc.message, exc)]
    except LiveAgentError as exc:  # it answered, but not with a published configuration
        checks.append(Check("reachable", "ok", f"{host} answers"))
        checks.append(Check("configuration", "fail", exc.message, ConfigError(exc.message, hint=exc.hint)))
        config = None
    if config is not None:
        checks.extend(_answered(url, host, config))
    token_checks, grant = _token(ctx, client, identity)
    checks.extend(token_checks)
    if grant is None:
        return checks
    checks.append(_form(grant, values))
    checks.append(_stream(ctx, client, grant))
    checks.append(_business_hours(ctx, client))
    if identity is not None:
        _revoke(client)
    return checks


def _call(ctx: Context, call: Callable[[float], T]) -> T:
    return request(ctx, call, Deadline(give_up_seconds(ctx.environ)))


def _answered(url: str, host: str, body: dict[str, Any]) -> list[Check]:
    """The rows that a 200 from embedded-service-config settles: reachable, TLS, published, deployment type."""
    config = body.get("embeddedServiceConfig")
    config = config if isinstance(config, dict) else body
    secure = url.startswith("https://")
    checks = [
        Check("reachable", "ok", f"{host} answers over {'TLS' if secure else 'plain http'}"),
        Check("tls", "ok", f"the certificate of {host} verifies")
        if secure
        else Check("tls", "info", "not used: plain http to a loopback server"),
    ]
    name = config.get("name")
    checks.append(Check("configuration", "ok", f"published{f': {name}' if isinstance(name, str) and name else ''}"))
    kind = config.get("deploymentType")
    if kind == CUSTOM_CLIENT:
        checks.append(Check("deployment type", "ok", f"{CUSTOM_CLIENT} (Custom Client): the type this API serves"))
    elif isinstance(kind, str) and kind:
        message = f"the deployment is of type {kind}, not {CUSTOM_CLIENT} (Custom Client)"
        hint = "the API serves Custom Client deployments: create one in Setup → Embedded Service Deployments"
        checks.append(Check("deployment type", "fail", message, ConfigError(message, hint=hint)))
    else:
        checks.append(Check("deployment type", "warn", "the configuration does not say its deploymentType"))
    return checks


def _token(ctx: Context, client: MiawClient, identity: IdentityToken | None) -> tuple[list[Check], TokenGrant | None]:
    """Mint an access token (a guest's, or a verified user's): registered as a secret, never shown."""
    from liveagent_cli.core.miaw.token import token_expiry

    if identity is not None:
        ctx.out.redactor.add(identity.token)
    try:
        if identity is not None:
            grant = _call(ctx, lambda timeout: client.verified_token(identity.token, timeout=timeout))
        else:
            grant = _call(ctx, lambda timeout: client.guest_token(timeout=timeout))
    except NetworkError as exc:
        return [Check("token", "fail", exc.message, exc)], None
    except LiveAgentError as exc:
        message = f"no access token: {exc.message}"
        return [Check("token", "fail", message, ConfigError(message, hint=exc.hint))], None
    ctx.out.redactor.add(grant.access_token)
    expires = token_expiry(grant.access_token)
    lasts = f", valid for {round((expires - time.time()) / 60)} min" if expires else ""
    who = "a verified user's" if identity is not None else "a guest's"
    checks = [Check("token", "ok", f"minted {who} access token{lasts} (not shown)")]
    if identity is not None and "/UNAUTH/" in grant.subject:
        checks.append(
            Check(
                "identity",
                "warn",
                "the server did not verify the identity token and made a guest session instead "
                "(check the token's issuer, key id and the keyset in Setup)",
            )
        )
    return checks, grant


def _form(grant: TokenGrant, values: dict[str, str] | None) -> Check:
    """The pre-chat form the token response carries, and whether --prechat-file's values fit it."""
    from liveagent_cli.flows.miaw.prechat import encode_form, form_of, routing_attributes

    _, fields = form_of(grant.configuration)
    if values:
        try:
            routing_attributes(encode_form(grant.configuration), values, None)
        except ConfigError as exc:
            return Check("pre-chat form", "fail", exc.message, exc)
        return Check("pre-chat form", "ok", f"the file's {len(values)} value(s) fit the deployment's pre-chat form")
    if not fields:
        return Check("pre-chat form", "info", "the deployment has no pre-chat form")
    named = ", ".join(f.name + (" (required)" if f.required and not f.hidden else "") for f in fields)
    return Check("pre-chat form", "info", f"fields: {named}")


def _stream(ctx: Context, client: MiawClient, grant: TokenGrant) -> Check:
    """Open the event stream (X-Org-Id, the 15-character org id) and close it at once."""
    from liveagent_cli.core.miaw.client import org15

    try:
        stream = _call(
            ctx,
            lambda timeout: client.open_stream(
                grant.last_event_id, connect_timeout=min(timeout, STREAM_OPEN_TIMEOUT), read_timeout=STREAM_OPEN_TIMEOUT
            ),
        )
    except NetworkError as exc:
        return Check("stream", "fail", exc.message, exc)
    except LiveAgentError as exc:
        message = f"the event stream does not open: {exc.message}"
        return Check("stream", "fail", message, ConfigError(message, hint=exc.hint))
    stream.close()
    return Check("stream", "ok", f"the event stream opens (X-Org-Id {org15(client.org_id)})")


def _business_hours(ctx: Context, client: MiawClient) -> Check:
    from liveagent_cli.flows.miaw.resources import read_hours

    try:
        body = _call(ctx, lambda timeout: client.business_hours(timeout=timeout))
    except LiveAgentError as exc:
        return Check("business hours", "fail", exc.message, exc)
    if read_hours(body).available:
        return Check("business hours", "ok", "inside the deployment's business hours now")
    return Check("business hours", "warn", "outside the deployment's business hours right now")


def _revoke(client: MiawClient) -> None:
    """Best effort: a verified user's token minted only for the check is revoked (a guest's cannot be)."""
    try:
        client.revoke_token()
    except LiveAgentError:
        pass
