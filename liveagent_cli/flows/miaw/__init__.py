"""The verbs against Enhanced Chat (miaw-api.md): the sibling of the Live Agent flows, behind the same
`ChatApi` (flows/verbs.py), never a branch inside them.

    link.py      one session as one process sees it: the stored record, a client carrying its token, the
                 retry policy (lost answers, 5xx, 429 with Retry-After), the wire log
    steps.py     session, init (pre-chat values checked against the deployment's form), end, status
    sending.py   send, choose, upload, typing: a message id chosen and stored before the request, so a retry
                 is the same message; 417 starts a new messaging session with the stored pre-chat values
    stream.py    poll: the one event stream per session, the last event id stored only after printing, a cut
                 stream reopened with backoff, what it missed recovered from the entries listing
    resources.py history, availability (business hours), visitor-settings (the deployment's configuration)
    prechat.py   pre-chat values against the deployment's pre-chat form
"""
