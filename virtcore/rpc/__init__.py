"""libvirt's RPC protocol: the XDR codec and message framing both sides use.

This package is the wire format only; it opens no socket and knows no
driver. Its stable API:

- :mod:`virtcore.rpc.message`: framing. :class:`~virtcore.rpc.message.Header`,
  :class:`~virtcore.rpc.message.MessageType` (CALL, REPLY, MESSAGE, STREAM, ...),
  :class:`~virtcore.rpc.message.MessageStatus` (OK, ERROR, CONTINUE),
  :func:`~virtcore.rpc.message.pack_message`, :func:`~virtcore.rpc.message.unpack_message`,
  :class:`~virtcore.rpc.message.FrameReader` (bytes in, messages out) and
  :func:`~virtcore.rpc.message.read_message` (asyncio); every message is capped at
  :data:`~virtcore.rpc.message.MESSAGE_MAX` (libvirt's 32 MiB).
- :mod:`virtcore.rpc.protocol`: :data:`~virtcore.rpc.protocol.REMOTE` and
  :data:`~virtcore.rpc.protocol.KEEPALIVE` programs; ``REMOTE.procedure("DOMAIN_GET_INFO")``
  gives a :class:`~virtcore.rpc.protocol.Procedure` (number, and its args/ret/message
  types with ``encode_*``/``decode_*``); ``REMOTE.call(...)``, ``.reply(...)``,
  ``.error_reply(...)``, ``.event(...)`` build whole messages.
- :mod:`virtcore.rpc.xdr`: ``encode(type_name, value)`` / ``decode(type_name, data)`` of any
  type named in libvirt's ``remote_protocol.x`` (structs are dicts, unions
  ``(discriminant, value)`` pairs, optional data ``None`` or the value).
- :mod:`virtcore.rpc.errors`: ``remote_error`` to and from :class:`virtcore.errors.VirtError`.
- :mod:`virtcore.rpc.typedparams`: libvirt's typed parameter lists to and from dicts.
- :mod:`virtcore.rpc.calls`, :mod:`virtcore.rpc.tunables` and :mod:`virtcore.rpc.objevents`:
  the tables both ends derive their one-procedure calls, their typed-parameter tunables
  (virt-libvirt's methods too) and their object events' procedures from.

The tables (:mod:`virtcore.rpc._remote_protocol`) are generated from libvirt's
protocol files by ``scripts/gen_remote_protocol.py``. Anything malformed on
the wire raises :class:`virtcore.errors.RPCError` (``VIR_ERR_RPC``).
"""
