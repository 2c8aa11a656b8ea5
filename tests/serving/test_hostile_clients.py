"""`asnet serve` as a real server on 127.0.0.1 (32-px model) under hostile
clients (docs/serving.md §8, §9): bodies over the limit (declared, or chunked and
streamed without end), oversized images, connections that never finish their headers or
body, idle keep-alive connections, more connections than the cap. Each is answered (or
closed) in bounded time, the peak resident memory of the server process (`VmHWM`, reset
through `/proc/<pid>/clear_refs` before each case) rises by at most a small multiple of
the upload limit, and the service answers `/health` and a normal upload after each.

Every request loop is bounded; nothing is sent anywhere but 127.0.0.1."""

import select
import socket
import time
import uuid

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi", reason="fastapi is not installed (pip install -r requirements.txt)")
pytest.importorskip("uvicorn", reason="uvicorn is not installed (pip install -r requirements.txt)")

import tests.support.image_files as F  # noqa: E402
from tests.support.helpers import save_random_asnet  # noqa: E402
from tests.support.serve_process import HOST, ServeProcess  # noqa: E402

pytestmark = pytest.mark.slow

MIB = 1 << 20
UPLOAD_MB = 8  # --max-upload-mb: holds the 4.1 MB HDR file, not 80 MiB
LIMIT = UPLOAD_MB * MIB
HEADER_TIMEOUT, BODY_TIMEOUT, KEEP_ALIVE, MAX_CONNECTIONS = 3.0, 2.0, 1.0, 4
SLACK = 2.0  # seconds a timer may fire late on a loaded machine


class Server(ServeProcess):
    """The server under test, and its process's memory."""

    def connect(self):
        return socket.create_connection((HOST, self.port), timeout=30)

    def memory(self):
        """(VmRSS, VmHWM) of the server process, bytes."""
        with open(f"/proc/{self.process.pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f)
        return tuple(int(fields[k].split()[0]) * 1024 for k in ("VmRSS", "VmHWM"))

    def reset_peak(self):
        with open(f"/proc/{self.process.pid}/clear_refs", "w") as f:
            f.write("5")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    weights = save_random_asnet(folder / "model.keras", 32, 5)
    running = Server(weights, [
        "--max-upload-mb", str(UPLOAD_MB), "--header-timeout", str(HEADER_TIMEOUT),
        "--body-timeout", str(BODY_TIMEOUT), "--keep-alive-timeout", str(KEEP_ALIVE),
        "--max-connections", str(MAX_CONNECTIONS), "--max-batch", "1",
        "--log-level", "warning"], folder / "serve.log")
    running.wait_healthy(timeout=180)
    try:
        running.reset_peak()
    except OSError:
        running.stop()
        pytest.skip("needs Linux's /proc/<pid>/clear_refs to reset the peak RSS")
    yield running
    running.stop()


def read_response(sock, timeout=30):
    """(status, headers dict, body) of one HTTP/1.1 response on `sock` (Content-Length
    bodies), or (None, {}, b"") if the server closed the connection first."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            part = sock.recv(65536)
            if not part:
                return None, {}, b""
            data += part
        head, body = data.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, v in
                   (line.split(":", 1) for line in lines[1:])}
        while len(body) < int(headers.get("content-length", 0)):
            part = sock.recv(65536)
            if not part:
                break
            body += part
        return int(lines[0].split()[1]), headers, body
    except (ConnectionResetError, socket.timeout):
        return None, {}, b""


def http(server, method, path, body=b"", content_type=None):
    """One request on a fresh connection: (status, headers, body)."""
    with server.connect() as sock:
        head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{server.port}\r\n"
        if content_type:
            head += f"Content-Type: {content_type}\r\n"
        head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        sock.sendall(head.encode() + body)
        return read_response(sock)


def multipart(data, name="a.png"):
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; "
            f"filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def assert_healthy(server):
    """/health answers 200, and a normal upload gets its map at the image's size."""
    assert http(server, "GET", "/health")[0] == 200
    ok, png = cv2.imencode(".png", np.full((20, 30, 3), 90, np.uint8))
    status, _, body = http(server, "POST", "/predict", *multipart(png.tobytes()))
    assert status == 200, body
    assert cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_UNCHANGED).shape == (20, 30)


def measured(server, send):
    """Run `send()` → (its result, seconds, rise of the server's peak RSS in bytes)."""
    server.reset_peak()
    before, _ = server.memory()
    start = time.perf_counter()
    result = send()
    seconds = time.perf_counter() - start
    return result, seconds, server.memory()[1] - before


def stream_chunked(server, head, total, piece=64 * 1024):
    """Send `head` then a chunked body of up to `total` bytes of zeros, reading the answer
    as soon as one comes: (status, detail, bytes sent)."""
    chunk = b"%x\r\n" % piece + b"\0" * piece + b"\r\n"
    with server.connect() as sock:
        sock.sendall(head)
        sent = 0
        try:
            while sent < total and not select.select([sock], [], [], 0)[0]:
                sock.sendall(chunk)
                sent += piece
        except OSError:  # the server closed the connection after its answer
            pass
        status, _, body = read_response(sock)
        return status, body, sent


CHUNKED_RAW = (f"POST /predict HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: image/png\r\n"
               "Transfer-Encoding: chunked\r\n\r\n").encode()


def chunked_multipart_head():
    """A multipart upload's request head and its first chunk (the part's headers): the
    file's bytes follow as further chunks, without end."""
    boundary = uuid.uuid4().hex
    preamble = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; "
                "filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n").encode()
    return (f"POST /crop?aspect=1:1 HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: "
            f"multipart/form-data; boundary={boundary}\r\nTransfer-Encoding: chunked\r\n\r\n"
            ).encode() + b"%x\r\n" % len(preamble) + preamble + b"\r\n"


def declared_too_large(server):
    with server.connect() as sock:
        sock.sendall(f"POST /predict HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: image/png\r\n"
                     f"Content-Length: {80 * MIB}\r\n\r\n".encode() + b"\0" * 65536)
        status, _, body = read_response(sock)
        return status, body, 65536


def image_upload(data, name):
    def send(server):
        body, ctype = multipart(data, name)
        status, _, answer = http(server, "POST", "/predict", body, ctype)
        return status, answer, len(body)
    return send


def stray_jpeg():
    ok, buf = cv2.imencode(".jpg", np.full((10_000, 10_000), 128, np.uint8))
    return F.with_stray_bytes_before_frame(buf.tobytes())


def with_upload(path, host=HOST):
    """POST `path` with a normal 30 × 20 PNG upload and the Host header `host`."""
    def send(server):
        ok, png = cv2.imencode(".png", np.full((20, 30, 3), 90, np.uint8))
        body, ctype = multipart(png.tobytes())
        with server.connect() as sock:
            sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {ctype}\r\n"
                         f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            status, _, answer = read_response(sock)
        return status, answer, len(body)
    return send


# case → (send(server) → (status, detail, bytes sent), expected status, detail text)
REQUESTS = {
    "non-finite parameter (the issue's 500)": (
        with_upload("/predict?format=json&crop=16:9&scale=inf"), 422,
        "scale='inf': Input should be a finite number"),
    "huge parameter": (with_upload("/crop?aspect=1" + "0" * 400 + ":1"), 422,
                       "write it as WIDTH:HEIGHT"),
    "Host of another site (DNS rebinding)": (
        with_upload("/predict", host="evil.example:8000"), 400, "is not served here"),
    "80 MiB raw body, chunked": (
        lambda s: stream_chunked(s, CHUNKED_RAW, 80 * MIB), 413, "upload too large: over"),
    "80 MiB multipart body, chunked": (
        lambda s: stream_chunked(s, chunked_multipart_head(), 80 * MIB), 413,
        "upload too large: over"),
    "80 MiB declared by Content-Length": (declared_too_large, 413, "83,886,080 bytes"),
}
IMAGES = {
    "JPEG 10,000 × 10,000, stray bytes before its frame": (
        stray_jpeg, "a.jpg", 413, "10,000 × 10,000 = 100,000,000"),
    "Radiance HDR 8,000 × 8,000": (lambda: F.radiance_hdr(8000, 8000), "a.hdr", 415,
                                   "Radiance HDR"),
    "PNG 6,000 × 6,000, 16-bit RGB": (lambda: F.flat_png(6000, 6000, 16, 2), "a.png", 413,
                                      "decodes to 216,000,000 bytes"),
}

assert len(REQUESTS) == 6 and len(IMAGES) == 3


def report(case, status, seconds, rise, sent):
    print(f"\n{case}: {status} in {seconds * 1000:.0f} ms, peak RSS +{rise / MIB:.1f} MiB "
          f"({sent / MIB:.1f} MiB sent)")


@pytest.mark.parametrize("case", list(REQUESTS))
def test_bad_requests_and_bodies_over_the_limit_are_refused_at_once(server, case):
    send, expected, text = REQUESTS[case]
    (status, detail, sent), seconds, rise = measured(server, lambda: send(server))
    report(case, status, seconds, rise, sent)
    assert status == expected and text.encode() in detail, (status, detail)
    assert rise < 3 * LIMIT, rise / MIB  # the limit, one chunk, and the parser's copy
    assert seconds < 10
    assert_healthy(server)


@pytest.mark.parametrize("case", list(IMAGES))
def test_oversized_images_are_refused_from_their_header(server, case):
    make, name, expected, text = IMAGES[case]
    data = make()
    (status, detail, sent), seconds, rise = measured(server, lambda: image_upload(data, name)(
        server))
    report(case, status, seconds, rise, sent)
    assert status == expected and text.encode() in detail, (status, detail)
    assert rise < 3 * LIMIT, rise / MIB  # never decoded: the upload and its copies only
    assert_healthy(server)


def closed_after(sock, timeout=30):
    """Seconds until the server closes `sock` (reading whatever it sends), or None."""
    start = time.perf_counter()
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    except socket.timeout:
        return None
    return time.perf_counter() - start


def test_connections_that_never_finish_their_headers_are_closed(server):
    # the 10 stalled connections: silent, half a request line, headers without end
    openings = [b"", b"POST /pred", b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: 1"] * 3
    openings.append(b"G")
    sockets = [server.connect() for _ in openings]
    start = time.perf_counter()
    for sock, opening in zip(sockets, openings, strict=True):
        sock.sendall(opening)
    assert http(server, "GET", "/health")[0] == 200  # the others are not blocked
    for sock in sockets:
        assert closed_after(sock, max(0.1, start + HEADER_TIMEOUT + SLACK
                                      - time.perf_counter())) is not None
        sock.close()
    seconds = time.perf_counter() - start
    print(f"\n10 stalled connections: all closed after {seconds:.2f} s")
    assert HEADER_TIMEOUT - 0.2 < seconds < HEADER_TIMEOUT + SLACK
    assert_healthy(server)


def test_a_body_that_stops_gets_408_at_the_body_timeout(server):
    with server.connect() as sock:
        sock.sendall(f"POST /predict HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: image/png\r\n"
                     "Content-Length: 100000\r\n\r\n".encode() + b"\x89PNG")
        start = time.perf_counter()
        status, headers, body = read_response(sock)
        seconds = time.perf_counter() - start
        assert closed_after(sock) is not None
    print(f"\nstalled body: {status} after {seconds:.2f} s")
    assert status == 408 and b"--body-timeout" in body and headers["connection"] == "close"
    assert BODY_TIMEOUT - 0.2 < seconds < BODY_TIMEOUT + SLACK
    assert_healthy(server)


def test_an_idle_keep_alive_connection_is_closed(server):
    with server.connect() as sock:
        sock.sendall(f"GET /health HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
        assert read_response(sock)[0] == 200
        seconds = closed_after(sock)
    print(f"\nidle keep-alive connection closed after {seconds:.2f} s")
    # the header timer (3 s) runs after an answer too; the keep-alive timer closes first
    assert seconds is not None and KEEP_ALIVE - 0.2 < seconds < HEADER_TIMEOUT - 0.5


def test_requests_beyond_the_cap_get_503_and_idle_connections_do_not_count(server):
    idle = [server.connect() for _ in range(3 * MAX_CONNECTIONS)]  # silent: not counted
    uploading = [server.connect() for _ in range(MAX_CONNECTIONS)]
    try:
        for sock in uploading:  # each holds a request in flight: its body is awaited
            sock.sendall(f"POST /predict HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: "
                         "image/png\r\nContent-Length: 1000\r\n\r\n\x89PNG".encode())
        time.sleep(0.3)  # the server has read their headers
        status, headers, body = http(server, "GET", "/health")
        assert status == 503 and b"--max-connections" in body, body
        assert headers["retry-after"] == "1"
    finally:
        for sock in idle + uploading:
            sock.close()
    time.sleep(0.3)
    assert_healthy(server)


def test_an_answer_before_the_body_is_read_closes_the_connection(server):
    # a bad parameter is answered before the body is read: that answer closes the
    # connection, so the rest of an endless chunked body is never read
    with server.connect() as sock:
        sock.sendall(f"POST /predict?scale=inf HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: "
                     "image/png\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n".encode())
        status, headers, body = read_response(sock)
        assert status == 422 and headers["connection"] == "close"
        assert closed_after(sock) is not None
    assert_healthy(server)
