"""An SMTP server that sends nothing: every message it takes is written to a folder as a .eml file.

`funnelwise serve --smtp-sink` runs one and points the sender at it, so a new user reads exactly
what each contact would have received, headers, tracking links and all, in any mail client.
"""

import itertools
import logging
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

logger = logging.getLogger(__name__)


class _Keeper:
    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._numbers = itertools.count(1)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        recipients = ",".join(envelope.rcpt_tos)
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{next(self._numbers):06d}.eml"
        (self._folder / name).write_bytes(envelope.content)
        logger.info("mail sink: kept a message to %s as %s", recipients, name)
        return "250 Message kept, not sent"


class MailSink:
    """Listens on host:port until stopped; `folder` receives one file per message."""

    def __init__(self, folder: Path, host: str = "127.0.0.1", port: int = 2525) -> None:
        self.folder = folder
        self.host = host
        self.port = port
        self._controller = Controller(_Keeper(folder), hostname=host, port=port)

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def kept(self) -> list[Path]:
        return sorted(self.folder.glob("*.eml"))
