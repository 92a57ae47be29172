"""``virtcore serve``: virtcore's connections served over libvirt's RPC protocol.

:mod:`virtcore.server.daemon` listens and runs the client sessions;
:mod:`virtcore.server.registry` maps procedures to handlers, which
:mod:`virtcore.server.domains` and :mod:`virtcore.server.objects` register.
The wire format itself is :mod:`virtcore.rpc`.
"""
