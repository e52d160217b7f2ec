"""The scripted agent: runs a checked `Script` (script.py) for each chat, as that chat's own asyncio task.

The task starts when the chat is accepted and is cancelled when it ends, so many chats run their scripts
side by side on the pod's loop. Visitor events reach it through a queue; a waiting step consumes them in
order and skips those that do not match. A step that can no longer run (the visitor ended the chat, say)
stops the script quietly; anything unexpected is logged and recorded on the chat as `ScriptError`, and
never reaches the visitor or the server.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from liveagent_cli.sandbox.agents.script import Script, Step, Wait, render
from liveagent_cli.sandbox.model.agent_port import AgentChat, ChatState, VisitorEvent
from liveagent_cli.sandbox.model.refusals import InvalidState

log = logging.getLogger("liveagent_cli.sandbox.agents.script")


class _Stop(Exception):
    """The script ends here (an `end` step, or a wait that timed out with on_timeout = "end")."""


class ScriptAgent:
    def __init__(self, chat: AgentChat, script: Script) -> None:
        self.chat = chat
        self.script = script
        self.events: asyncio.Queue[VisitorEvent] = asyncio.Queue()
        self.values: dict[str, str] = dict.fromkeys(script.fields, "")
        self.values["name"] = chat.visitor_name
        self.task: asyncio.Task[None] | None = None
        self.finished = False

    # ---- hooks (AgentBehaviour) --------------------------------------------------------------------------

    def on_init(self) -> None:
        self.values["name"] = self.chat.visitor_name
        self.chat.request_success()
        if self.script.accept_after is not None:
            self.chat.later(self.script.accept_after, self._accept)

    def _accept(self) -> None:
        if self.chat.state is ChatState.QUEUED:
            self.chat.accept(name=self.script.agent_name)

    def on_established(self) -> None:
        self.values["agent"] = self.chat.agent_name
        if self.task is None and self.chat.state is ChatState.ESTABLISHED:
            self.task = asyncio.get_running_loop().create_task(self._run(), name=f"script {self.chat.id}")

    def on_visitor_event(self, event: VisitorEvent) -> None:
        if self.finished and self.script.on_finish == "echo":
            if event.kind == "message":
                self.chat.say(event.text)
            return
        self.events.put_nowait(event)

    def on_end(self, by: str, reason: str) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()

    # ---- the run -----------------------------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            for step in self.script.steps:
                await self._step(step)
            self.finished = True
            if self.script.on_finish == "end":
                self.chat.end("agent")
        except (_Stop, asyncio.CancelledError):
            pass
        except InvalidState as exc:
            log.info("chat %s: script stopped: %s", self.chat.id, exc.message)
            if self.chat.state is ChatState.ESTABLISHED:  # not the chat ending under it: a step that cannot run
                self.chat.note("ScriptError", {"error": exc.message})
        except Exception as exc:
            log.exception("chat %s: script failed", self.chat.id)
            self.chat.note("ScriptError", {"error": f"{type(exc).__name__}: {exc}"})

    def _fill(self, template: str) -> str:
        return render(template, self.values)

    async def _step(self, step: Step) -> None:
        chat, action, value = self.chat, step.action, step.value
        if action == "say":
            chat.say(self._fill(value))
        elif action == "typing":
            chat.typing(True)
            await asyncio.sleep(value)
            chat.typing(False)
        elif action == "pause":
            await asyncio.sleep(value)
        elif action == "menu":
            header = self._fill(step.header) if step.header is not None else None
            chat.menu([self._fill(item) for item in value], kind=step.menu_kind, header=header)
        elif action == "transfer":
            chat.transfer(self._fill(value))
            self.values["agent"] = chat.agent_name
        elif action == "join":
            chat.join(self._fill(value))
        elif action == "leave":
            chat.leave(self._fill(value))
        elif action == "request_file":
            chat.request_file()
        elif action == "cancel_file":
            chat.cancel_file()
        elif action == "event":
            chat.event(self._fill(value), self._fill(step.data))
        elif action == "end":
            chat.end(self._fill(value))
            raise _Stop
        if step.wait is not None:
            await self._wait(step.wait)

    async def _wait(self, wait: Wait) -> None:
        try:
            async with asyncio.timeout(wait.timeout):
                while True:
                    event = await self.events.get()
                    if event.kind == wait.kind and self._matches(wait, event):
                        return
        except TimeoutError:
            self.chat.note("ScriptTimeout", {"waitingFor": wait.name, "after": wait.timeout})
            if wait.on_timeout == "end":
                self.chat.end("agent")
                raise _Stop from None

    def _matches(self, wait: Wait, event: VisitorEvent) -> bool:
        groups: dict[str, Any] = {}
        if wait.pattern is not None:
            found = wait.pattern.search(event.text)
            if found is None:
                return False
            groups = {k: v or "" for k, v in found.groupdict().items()}
        if event.kind == "message":
            self.values["text"] = event.text
        elif event.kind == "choice":
            self.values["choice"] = event.text
        elif event.kind == "file":
            self.values["file"] = event.text
        self.values.update(groups)
        return True
