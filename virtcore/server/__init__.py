"""``virtcore serve``: virtcore's connections served over libvirt's RPC protocol.

:mod:`virtcore.server.daemon` listens and runs the client sessions;
:mod:`virtcore.server.registry` maps procedures to handlers, which
:mod:`virtcore.server.calls` derives from the one-procedure table
(:mod:`virtcore.rpc.calls`), :mod:`virtcore.server.objevents` from the
object events' table (:mod:`virtcore.rpc.objevents`), and
:mod:`virtcore.server.domains`, :mod:`virtcore.server.objects` and
:mod:`virtcore.server.host` write out.
The wire format itself is :mod:`virtcore.rpc`.
"""
