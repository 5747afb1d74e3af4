"""sd_notify client against a real AF_UNIX datagram socket (what systemd listens on)."""

import os
import socket
import uuid

import pytest

from driverwatch.daemon.sdnotify import Notifier


@pytest.fixture(params=["path", "abstract"])
def listener(request, tmp_path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if request.param == "path":
        addr = str(tmp_path / "notify.sock")
        sock.bind(addr)
        env_value = addr
    else:
        name = f"driverwatch-test-{uuid.uuid4().hex}"
        sock.bind("\0" + name)
        env_value = "@" + name
    sock.settimeout(2.0)
    yield sock, env_value
    sock.close()


def recv_all(sock) -> list[str]:
    out = []
    sock.setblocking(False)
    try:
        while True:
            out.append(sock.recv(4096).decode())
    except BlockingIOError:
        pass
    sock.setblocking(True)
    return out


def test_messages_reach_the_socket(listener):
    sock, addr = listener
    n = Notifier({"NOTIFY_SOCKET": addr})
    assert n.ready(status="watching the driver")
    assert sock.recv(4096).decode() == "READY=1\nSTATUS=watching the driver"
    n.status("camera unavailable:\nbusy")
    assert sock.recv(4096).decode() == "STATUS=camera unavailable: busy"
    n.reloading()
    msg = sock.recv(4096).decode().split("\n")
    assert msg[0] == "RELOADING=1" and msg[1].startswith("MONOTONIC_USEC=") and int(msg[1].split("=")[1]) > 0
    n.stopping()
    assert sock.recv(4096).decode() == "STOPPING=1"
    n.close()


def test_watchdog_is_rate_limited_to_half_the_interval(listener):
    sock, addr = listener
    now = [100.0]
    n = Notifier({"NOTIFY_SOCKET": addr, "WATCHDOG_USEC": "4000000", "WATCHDOG_PID": str(os.getpid())},
                 clock=lambda: now[0])
    assert n.watchdog_interval() == 4.0
    sent = []
    for _ in range(300):  # 10 s of frames at 30 fps
        sent.append(n.watchdog())
        now[0] += 1 / 30
    pings = recv_all(sock)
    assert pings == ["WATCHDOG=1"] * sum(sent)
    assert sum(sent) in (5, 6)  # every 2 s over 10 s
    assert n.watchdog(force=True)


def test_no_socket_or_no_watchdog_is_a_no_op(listener):
    sock, addr = listener
    quiet = Notifier({})
    assert not quiet.enabled and not quiet.ready() and not quiet.watchdog()
    assert quiet.watchdog_interval() is None
    other_pid = Notifier({"NOTIFY_SOCKET": addr, "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"})
    assert other_pid.watchdog_interval() is None and not other_pid.watchdog()
    no_wd = Notifier({"NOTIFY_SOCKET": addr})
    assert no_wd.watchdog_interval() is None and not no_wd.watchdog()
    assert recv_all(sock) == []


def test_a_vanished_socket_does_not_raise(tmp_path):
    n = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    assert n.enabled
    assert n.ready() is False
