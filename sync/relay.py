"""The relay that offers the hub's S3 port on another address (``fieldapp hub --listen``)."""

from __future__ import annotations

import contextlib
import socket
import time


class Forwarder:
    """Offers the S3 port on another address (``--listen``): a plain TCP relay, so
    nothing but S3 is reachable from outside. At most ``MAX_RELAYS`` connections at
    once; a connection idle for ``IDLE`` seconds is closed; running out of file
    descriptors pauses accepting instead of ending it."""

    MAX_RELAYS = 128
    IDLE = 300.0

    def __init__(self, listen: tuple[str, int], target: tuple[str, int]) -> None:
        import threading

        self.target = target
        self.server = socket.create_server(listen, reuse_port=False)
        self.server.settimeout(0.5)
        self._closed = threading.Event()
        self._slots = threading.BoundedSemaphore(self.MAX_RELAYS)
        self._thread = threading.Thread(target=self._serve, daemon=True, name="hub-forwarder")
        self._thread.start()

    def alive(self) -> bool:
        """Whether it still accepts connections (``fieldapp hub`` stops when it does not)."""
        return self._thread.is_alive()

    def _serve(self) -> None:
        import errno
        import threading

        while not self._closed.is_set():
            if not self._slots.acquire(timeout=0.5):
                continue  # full: the waiting clients queue in the listen backlog
            try:
                client, _ = self.server.accept()
            except TimeoutError:
                self._slots.release()
                continue
            except OSError as exc:
                self._slots.release()
                if self._closed.is_set():
                    return
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    time.sleep(0.5)  # out of descriptors: wait for relays to finish
                continue
            try:
                threading.Thread(target=self._relay, args=(client,), daemon=True).start()
            except RuntimeError:  # no thread to be had
                client.close()
                self._slots.release()

    def _relay(self, client: socket.socket) -> None:
        import threading

        try:
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                return
            upstream.settimeout(self.IDLE)
            client.settimeout(self.IDLE)

            def pipe(src: socket.socket, dst: socket.socket) -> None:
                try:
                    while chunk := src.recv(65536):
                        dst.sendall(chunk)
                except OSError:  # includes the idle timeout
                    pass
                finally:
                    with contextlib.suppress(OSError):
                        dst.shutdown(socket.SHUT_WR)

            back = threading.Thread(target=pipe, args=(upstream, client), daemon=True)
            back.start()
            pipe(client, upstream)
            back.join()
            client.close()
            upstream.close()
        finally:
            self._slots.release()

    def close(self) -> None:
        """Stop accepting; relays under way end with their connections."""
        self._closed.set()
        self.server.close()
