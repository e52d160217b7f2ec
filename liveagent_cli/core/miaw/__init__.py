"""Enhanced Chat (Messaging for In-App and Web, "MIAW"): the client side of shared/reference/miaw-api.md.

A sibling of the Live Agent modules of core/, never a branch inside them:

    client.py   MiawClient: one method per v2 REST resource and the event stream, over one requests.Session
    sse.py      an incremental Server-Sent Events parser (the HTML spec's rules), bounded in memory
    events.py   what each stream event or conversation entry means, as the neutral ChatEvent (core/chat_events.py)
    token.py    the access token's expiry, read from its JWT `exp` without verifying it
    state.py    the session record of an Enhanced Chat session, in the same state files and locks
"""
