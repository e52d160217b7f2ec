"""Enhanced Chat behind the verbs (`ChatApi`, flows/verbs.py): each verb calls its flow and says what it did.

Each verb imports its own flow (and the event vocabulary only where events are shown): every step is its own
process, and loading all of flows/miaw for one of them cost `send` about 10 ms of CPU and `status` the HTTP
stack (bench/miaw_step_costs.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from liveagent_cli.core.errors import UsageError
from liveagent_cli.flows.context import Context
from liveagent_cli.flows.verbs import Available, Done, IdentityToken, InitOptions, OnShown, PollOutcome, Shown

if TYPE_CHECKING:
    from liveagent_cli.core.chat_events import ChatEvent
    from liveagent_cli.core.miaw.events import ConversationItem
    from liveagent_cli.core.miaw.state import MiawState


class EnhancedChat:
    name = "miaw"
    uploads_need_request = False  # a file may go to the conversation at any time

    def check_settings(self, ctx: Context) -> None:
        ctx.settings.messaging()

    def awaits_poller(self, ctx: Context) -> bool:
        return False  # no step waits for the stream: a send stands on its own

    def open_session(self, ctx: Context, *, replace: bool, identity: IdentityToken | None) -> Done:
        from liveagent_cli.flows.miaw import steps
        from liveagent_cli.flows.other_api import clear_other_api

        given = steps.Identity(identity.token, identity.source) if identity is not None else None
        ctx.settings.messaging()  # settings first: a bad one must not end another API's chat
        clear_other_api(ctx, self.name, replace=replace)
        state = steps.open_session(ctx, replace=replace, identity=given)
        info = steps.describe(state, ctx.store.name, show_secrets=not ctx.out.redactor.enabled)
        keep = ("session", "api", "pod", "id", "verified", "token_expires_at", "access_token")
        shown = {k: info[k] for k in keep if k in info}
        note = "next: `liveagent init` to start a conversation"
        who = "a verified user" if state.verified else "a guest"
        return Done(shown, note=note, fields=shown, summary=f"session {state.id} (an access token for {who})")

    def init(self, ctx: Context, options: InitOptions) -> Done:
        from liveagent_cli.flows.miaw import steps

        fields = options.fields
        language = str(fields.get("language") or "").replace("-", "_")
        state = steps.init_conversation(
            ctx, dict(options.prechat_values), visitor_name=fields.get("visitor_name"), language=language
        )
        document = {"requested": True, "session": ctx.store.name, "conversation_id": state.conversation_id}
        note = "conversation created; next: `liveagent poll --until established`"
        return Done(document, note=note, summary=f"conversation {state.conversation_id} created")

    def poll(
        self,
        ctx: Context,
        on_shown: OnShown,
        *,
        follow: bool,
        until: Iterable[str],
        timeout: float | None,
        stop: Callable[[], bool] | None = None,
    ) -> PollOutcome:
        from liveagent_cli.core.miaw.events import json_line
        from liveagent_cli.flows.miaw import stream

        def show(item: ConversationItem, event: ChatEvent, state: MiawState) -> None:
            on_shown(Shown(json_line(item, event), event, event.agent or state.agent_name or "agent"))

        result = stream.run_poll(ctx, show, follow=follow, until=until, timeout=timeout, stop=stop)
        return PollOutcome(result.types, result.kinds)

    def send(self, ctx: Context, text: str) -> Done:
        from liveagent_cli.flows.miaw import sending

        state = sending.send_text(ctx, text)
        document = {"sent": True, "session": ctx.store.name, "conversation_id": state.conversation_id}
        return Done(document, note="sent message", quiet_in_json=True, summary=f"sent {text!r}")

    def end(self, ctx: Context, *, reason: str, local: bool, keep_conversation: bool) -> Done:
        from liveagent_cli.flows.miaw import steps

        state, was_open = steps.end(ctx, keep_conversation=keep_conversation, local=local)
        base = {"session": ctx.store.name, "was_open": was_open, "conversation_id": state.conversation_id or None}
        if local:
            note = "session forgotten here; the server was not told (the conversation stays open there)"
            return Done({"ended": False, "local": True, **base}, note=note, quiet_in_json=True)
        if keep_conversation:
            note = "messaging session ended; the conversation stays open (the next `send` starts a new session)"
            return Done({"ended": True, "kept_conversation": True, **base}, note=note, quiet_in_json=True)
        note = "conversation closed; session forgotten" if was_open else "the conversation had ended; session forgotten"
        summary = "conversation closed" if was_open else "the conversation had already ended"
        document = {"ended": True, "kept_conversation": False, **base}
        return Done(document, note=note, quiet_in_json=True, summary=summary)

    def typing(self, ctx: Context, on: bool) -> Done:
        from liveagent_cli.flows.miaw import sending

        sending.typing(ctx, on)
        what = "TypingStartedIndicator" if on else "TypingStoppedIndicator"
        return Done({"sent": what, "session": ctx.store.name}, note=f"sent {what}", quiet_in_json=True)

    def choose(self, ctx: Context, number: int) -> Done:
        from liveagent_cli.flows.miaw import sending

        _, text = sending.choose(ctx, number)
        document = {"sent": "ChoicesResponseMessage", "session": ctx.store.name, "choice": number, "text": text}
        return Done(document, note=f"sent choice {number} ({text})", quiet_in_json=True)

    def upload(self, ctx: Context, path: Path, *, any_type: bool, on_progress: Any) -> Done:
        from liveagent_cli.flows.miaw import sending
        from liveagent_cli.flows.upload import plan_upload

        plan = plan_upload(path, any_type=any_type, max_bytes=sending.MAX_FILE_BYTES)
        sending.upload(ctx, plan, on_progress=on_progress)
        document = {"uploaded": plan.path.name, "bytes": plan.size, "contentType": plan.content_type}
        return Done(document, note=f"uploaded {plan.path.name} ({plan.size} bytes)", quiet_in_json=True)

    def history(self, ctx: Context, *, limit: int | None) -> list[Shown]:
        from liveagent_cli.core.miaw.events import interpret, json_line
        from liveagent_cli.flows.miaw import resources

        shown = []
        for item in resources.history(ctx, limit=limit):
            event = interpret(item)
            shown.append(Shown(json_line(item, event), event, event.agent or "agent"))
        return shown

    def availability(self, ctx: Context, ids: list[str]) -> Available:
        from liveagent_cli.flows.miaw import resources

        if ids:
            raise UsageError(
                "availability takes no ids on Enhanced Chat", hint="it reads the deployment's business hours"
            )
        hours = resources.availability(ctx)
        document = {"available": hours.available, "businessHours": hours.windows}
        word = "available: inside business hours" if hours.available else "unavailable: outside business hours"
        return Available(
            hours.available,
            document,
            (f"{ctx.settings.require('deployment_name')}  {word}",),
            refusal="the deployment is outside its business hours",
        )

    def visitor_settings(self, ctx: Context, ids: list[str]) -> Done:
        if ids:
            raise UsageError(
                "visitor-settings takes no ids on Enhanced Chat", hint="it reads the deployment's configuration"
            )
        from liveagent_cli.flows.miaw import resources
        from liveagent_cli.flows.miaw.prechat import form_of

        body = resources.visitor_settings(ctx)
        config = body.get("embeddedServiceConfig")
        config = config if isinstance(config, dict) else body
        lines = [f"{key}  {config[key]}" for key in ("name", "deploymentType") if key in config]
        context, form = form_of(config)
        for f in form:
            flags = ", ".join(w for w, on in (("required", f.required), ("hidden", f.hidden)) if on)
            lines.append(f"pre-chat {f.name}  {f.label}" + (f" ({flags})" if flags else "") + f"  [{context}]")
        return Done(body, lines=tuple(lines))

    def status(self, ctx: Context, *, show_secrets: bool) -> Done:
        from liveagent_cli.core.miaw import state as records
        from liveagent_cli.flows.miaw import steps

        state = records.load(ctx.store)
        info = steps.describe(state, ctx.store.name, show_secrets=show_secrets)
        return Done(info, fields=info)

    def until_names(self) -> list[str]:
        from liveagent_cli.core.miaw.events import EVENT_NAMES

        return sorted(set(EVENT_NAMES.values()))
