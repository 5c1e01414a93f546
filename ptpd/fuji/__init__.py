"""Fujifilm's Wi-Fi PTP dialect (fuji-ptpip.md).

Sans-I/O parts (no sockets, no asyncio):

* :mod:`ptpd.fuji.codes` — vendor operation/event/property codes, container kinds, InitFail reasons;
* :mod:`ptpd.fuji.packets` — the 82-byte InitCommandRequest, Ack, InitFail, 12-byte containers,
  live-view frame framing;
* :mod:`ptpd.fuji.events`, :mod:`ptpd.fuji.connection` — h11-style initiator and responder
  connections, the event channel and the live-view stream, on the sans-I/O base the
  standard dialect uses too (:mod:`ptpd.protocol.sansio`: sentinel, event base, buffer,
  deadlines);
* :mod:`ptpd.fuji.properties` — property names, datatypes and value labels both ways;
* :mod:`ptpd.fuji.state` — the 0xD212 state list and the 0x902B descriptor list;
* :mod:`ptpd.fuji.bringup` — what a body offers, decided from its answers during bring-up
  (state list, camera state, remote version, client mode);
* :mod:`ptpd.fuji.errors` — clear errors for InitFail reasons and a refused pairing.

The asyncio modules are :mod:`ptpd.fuji.link` (``FujiLink``) and its live-view stream
:mod:`ptpd.fuji.liveview`, built on the asyncio side both dialects share
(:mod:`ptpd.protocol.adapter`, :mod:`ptpd.protocol.queues`); the vendor-neutral camera on
top of them is :class:`ptpd.camera.fuji.FujiCamera`.
"""
