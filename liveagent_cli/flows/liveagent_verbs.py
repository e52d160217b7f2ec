"""Live Agent behind the verbs (`ChatApi`, flows/verbs.py): the flows it always had, saying what they did as
the commands always printed it. Its `poll` lines are the pod's items exactly as sent plus the contract's
`kind` (and `text`/`sender` on a ChatMessage), so one script reads either API's lines."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from liveagent_cli.core.chat_events import EventKind
from liveagent_cli.core.errors import UsageError
from liveagent_cli.core.messages import MessageType, interpret
from liveagent_cli.core.render import AgentName, wait_phrase
from liveagent_cli.core.state import SessionState
from liveagent_cli.flows.context import Context
from liveagent_cli.flows.verbs import Available, Done, IdentityToken, InitOptions, OnShown, PollOutcome, Shown


def shown_item(item: dict[str, Any], agent: str) -> Shown:
    """A pod message as `poll` prints it: the item as sent, plus `kind` (and `text`, `sender` for messages)."""
    event = interpret(item)
    line = {**item, "kind": str(event.kind)}
    if event.kind is EventKind.MESSAGE:
        line["text"], line["sender"] = event.text, event.agent or agent
    return Shown(line, event, agent)


class LiveAgent:
    name = "liveagent"
    uploads_need_request = True

    def check_settings(self, ctx: Context) -> None:
        ctx.settings.ids()

    def awaits_poller(self, ctx: Context) -> bool:
        return ctx.store.exists() and ctx.store.load().resync_pending

    def open_session(self, ctx: Context, *, replace: bool, identity: IdentityToken | None) -> Done:
        from liveagent_cli.flows.describe import describe_state
        from liveagent_cli.flows.other_api import clear_other_api
        from liveagent_cli.flows.steps import open_session

        if identity is not None:
            raise UsageError("--identity-token is for Enhanced Chat", hint="Live Agent has no verified users")
        ctx.settings.endpoint()  # settings first: a bad one must not end another API's chat
        clear_other_api(ctx, self.name, replace=replace)
        state = open_session(ctx, replace=replace)
        info = describe_state(state, ctx.store.name, show_secrets=not ctx.out.redactor.enabled)
        keep = ("session", "pod", "id", "affinity", "client_poll_timeout", "key")
        shown = {k: info[k] for k in keep if k in info}
        note = "next: `liveagent init` to ask for an agent"
        return Done(shown, note=note, fields=shown, summary=f"session {state.id}")

    def init(self, ctx: Context, options: InitOptions) -> Done:
        from liveagent_cli.flows.steps import init_chat

        state = init_chat(ctx, options.fields)
        document = {"requested": True, "session": ctx.store.name, "sequence": state.sequence}
        note = "chat requested; next: `liveagent poll --until ChatEstablished`"
        return Done(document, note=note, summary=f"ChasitorInit sent (sequence {state.sequence})")

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
        from liveagent_cli.flows.poll import run_poll

        agent = AgentName()

        def show(item: dict[str, Any], state: SessionState) -> None:
            on_shown(shown_item(item, agent.after(item, state.agent_name)))

        result = run_poll(ctx, show, follow=follow, until=list(until), timeout=timeout, stop=stop)
        return PollOutcome(result.types, result.kinds)

    def send(self, ctx: Context, text: str) -> Done:
        from liveagent_cli.flows.steps import send_text

        state = send_text(ctx, text)
        document = {"sent": True, "session": ctx.store.name, "sequence": state.sequence}
        return Done(document, note="sent ChatMessage", quiet_in_json=True, summary=f"sent {text!r}")

    def end(self, ctx: Context, *, reason: str, local: bool, keep_conversation: bool) -> Done:
        from liveagent_cli.flows.steps import end_chat

        if keep_conversation:
            raise UsageError("--keep-conversation is for Enhanced Chat", hint="a Live Agent chat has no conversation")
        if not reason.strip():
            raise UsageError("--reason is empty", hint="the pod expects a reason such as client")
        _, was_open = end_chat(ctx, reason, local=local)
        if local:
            note = "session forgotten here; the pod was not told (a chat still open there times out)"
            document = {"ended": False, "local": True, "session": ctx.store.name, "was_open": was_open}
            return Done(document, note=note, quiet_in_json=True)
        note = "chat ended; session forgotten" if was_open else "the chat had already ended; session forgotten"
        document = {"ended": True, "session": ctx.store.name, "was_open": was_open, "reason": reason}
        summary = "ChatEnd sent" if was_open else "the chat had already ended"
        return Done(document, note=note, quiet_in_json=True, summary=summary)

    def typing(self, ctx: Context, on: bool) -> Done:
        from liveagent_cli.flows.signals import send_typing

        final = send_typing(ctx, on)
        what = "ChasitorTyping" if on else "ChasitorNotTyping"
        document = {"sent": what, "session": ctx.store.name, "sequence": final.sequence}
        return Done(document, note=f"sent {what}", quiet_in_json=True)

    def choose(self, ctx: Context, number: int) -> Done:
        from liveagent_cli.flows.menus import choose

        final, text = choose(ctx, number)
        document = {
            "sent": "RichMessage",
            "session": ctx.store.name,
            "sequence": final.sequence,
            "choice": number,
            "text": text,
        }
        return Done(document, note=f"sent menu choice {number} ({text})", quiet_in_json=True)

    def upload(self, ctx: Context, path: Path, *, any_type: bool, on_progress: Any) -> Done:
        from liveagent_cli.flows.upload import plan_upload, upload

        plan = plan_upload(path, any_type=any_type)
        upload(ctx, plan, on_progress)
        document = {"uploaded": plan.path.name, "bytes": plan.size, "contentType": plan.content_type}
        note = f"uploaded {plan.path.name} ({plan.size} bytes); the pod confirms with FileTransfer Success"
        return Done(document, note=note, quiet_in_json=True)

    def history(self, ctx: Context, *, limit: int | None) -> list[Shown]:
        raise UsageError(
            "`history` has no counterpart in Live Agent", hint="the pod keeps no transcript a visitor can read"
        )

    def availability(self, ctx: Context, ids: list[str]) -> Available:
        from liveagent_cli.flows.visitor_resources import availability

        result = availability(ctx, ids)
        lines = tuple(
            f"{e.id}  {'available' if e.available else 'unavailable'}{wait_phrase(e.estimated_wait)}"
            for e in result.entries
        )
        document = {"available": result.available, "results": result.results}
        refusal = "no agent is online for " + ", ".join(e.id for e in result.entries)
        return Available(result.available, document, lines, refusal=refusal)

    def visitor_settings(self, ctx: Context, ids: list[str]) -> Done:
        from liveagent_cli.flows.visitor_resources import visitor_settings

        settings = visitor_settings(ctx, ids)
        lines = [f"{key}  {settings[key]}" for key in ("pingRate", "contentServerUrl") if key in settings]
        for button in settings.get("buttons") or []:
            if isinstance(button, dict):
                state = "available" if button.get("isAvailable") is True else "unavailable"
                lines.append(f"button {button.get('id')}  {button.get('type', '')}  {state}")
        return Done(settings, lines=tuple(lines))

    def status(self, ctx: Context, *, show_secrets: bool) -> Done:
        from liveagent_cli.flows.describe import describe_state

        state = ctx.store.load()
        info = describe_state(state, ctx.store.name, show_secrets=show_secrets)
        return Done(info, fields=info)

    def until_names(self) -> list[str]:
        return [str(t) for t in MessageType]
