"""What every ptpctl command shares: its options and a client made on first use (in the
manner of flask's ``ScriptInfo``), so that ``--help`` works with no daemon."""

from __future__ import annotations

from ptpd import bus
from ptpd_client import Client, ClientError

__all__ = ["UNIFIED_NAMES", "Session"]

#: the unified property names (ptp-ip tool §7), offered for completion before the daemon answers
UNIFIED_NAMES = [
    "delay",
    "effect",
    "exposure",
    "exp-bias",
    "flashmode",
    "focusmtr",
    "iso",
    "whitebalance",
    "recmode",
    "battery",
]


class Session:
    """What every command shares: options, and a client made on first use."""

    def __init__(
        self,
        command_endpoint: str | None = None,
        event_endpoint: str | None = None,
        liveview_endpoint: str | None = None,
        timeout: float = 5.0,
        verbose: int = 0,
        json: bool = False,
        curve_server_key: str | None = None,
        curve_client_key: str | None = None,
    ) -> None:
        self.command_endpoint = command_endpoint
        self.curve_server_key = curve_server_key
        self.curve_client_key = curve_client_key
        self.event_endpoint = event_endpoint
        self.liveview_endpoint = liveview_endpoint
        self.timeout = timeout
        self.verbose = verbose
        self.json = json
        self._client: Client | None = None
        self._prop_names: list[str] | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = Client(
                self.command_endpoint,
                self.event_endpoint,
                self.liveview_endpoint,
                timeout=self.timeout,
                curve_server_key=self.curve_server_key,
                curve_client_key=self.curve_client_key,
            )
        return self._client

    def property_names(self) -> list[str]:
        """Property names for completion: the daemon's, else the unified ones."""
        if self._prop_names is None:
            try:
                self._prop_names = sorted(set(self.client.properties(timeout=min(self.timeout, 2.0))))
            except ClientError:
                return UNIFIED_NAMES
        return self._prop_names

    def endpoints(self) -> tuple[str, str, str]:
        ev, lv = self.client.endpoints()
        return self.client.command_endpoint, ev, lv

    def environment(self) -> dict[str, str]:
        """The ``PTPD_*`` variables that lead another client (ptpview) to the same daemon
        the same way: the endpoints and CURVE keys this session was given."""
        given = {
            bus.ENV_COMMAND: self.command_endpoint,
            bus.ENV_EVENT: self.event_endpoint,
            bus.ENV_LIVEVIEW: self.liveview_endpoint,
            bus.ENV_CURVE_SERVER_KEY: self.curve_server_key,
            bus.ENV_CURVE_CLIENT_KEY: self.curve_client_key,
        }
        return {k: v for k, v in given.items() if v}

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
