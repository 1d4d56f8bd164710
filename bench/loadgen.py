"""A small HTTP/1.1 load generator for the benchmarks: keep-alive connections on 127.0.0.1.

Closed loop (``rate=None``): each connection sends its next request as soon as the
previous answer is in; the figure is throughput. Open loop (``rate`` in requests/s):
each connection follows a fixed schedule and latency is measured from the *scheduled*
send time, so a slow answer that delays the next request is counted against the server
(no coordinated omission). Every run is bounded by ``duration`` and, optionally, by a
request count, and stops by itself.

Each client process runs one selector loop over its connections, so the generator
costs little CPU next to the server it measures. Bodies carry unique messageIds, so
every accepted message is a new event, not a deduplicated retry.
"""

from __future__ import annotations

import base64
import json
import multiprocessing
import selectors
import socket
import time
from dataclasses import dataclass, field

HOST = "127.0.0.1"  # never anything else: load only ever goes to this machine

# A message as an SDK sends it (analytics-python / analytics.js shape), about 600 bytes.
_MESSAGE = (
    '{"type":"track","event":"Product Viewed","userId":"user-%(user)d",'
    '"anonymousId":"anon-%(user)d-7f3a","messageId":"%(mid)s",'
    '"timestamp":"2025-06-01T12:00:00.000Z",'
    '"properties":{"product_id":"sku-%(sku)d","name":"Trail running shoe","price":89.95,'
    '"currency":"EUR","category":"Shoes","position":3,"url":"https://shop.example/p/%(sku)d"},'
    '"context":{"library":{"name":"analytics-python","version":"2.3.2"},'
    '"page":{"path":"/p/%(sku)d","referrer":"https://www.example.org/"},'
    '"userAgent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",'
    '"locale":"nl-NL","campaign":{"source":"newsletter","medium":"email"}},'
    '"integrations":{"All":true}}'
)


def message(mid: str, n: int) -> str:
    return _MESSAGE % {"user": n % 5000, "sku": n % 300, "mid": mid}


def track_body(prefix: str, n: int) -> bytes:
    return message(f"{prefix}-{n}", n).encode()


def batch_body(prefix: str, n: int, size: int) -> bytes:
    items = ",".join(message(f"{prefix}-{n}-{i}", n * size + i) for i in range(size))
    return f'{{"batch":[{items}],"sentAt":"2025-06-01T12:00:01.000Z"}}'.encode()


@dataclass
class Load:
    port: int
    kind: str  # "track", "batch" (BATCH_SIZE messages) or "mix" (a batch every MIX_EVERY)
    write_key: str
    tag: str  # makes messageIds unique across runs
    duration: float
    connections: int = 8  # per process
    processes: int = 1
    rate: float | None = None  # total requests/s (open loop); None: closed loop
    max_requests: int | None = None  # total, over all processes
    batch_size: int = 100
    mix_every: int = 50
    ids: int = 1  # "personalize": GET /v1/personalize for ids 0 .. ids-1 (ID_PREFIX + n)


@dataclass
class Result:
    ok: int = 0
    errors: int = 0
    elapsed: float = 0.0  # first scheduled send to last answer
    latencies: list[float] = field(default_factory=list)  # seconds, answered requests
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def merge(self, other: Result) -> None:
        self.ok += other.ok
        self.errors += other.errors
        self.elapsed = max(self.elapsed, other.elapsed)
        self.latencies.extend(other.latencies)
        for status, count in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + count


class _Conn:
    __slots__ = ("sock", "buf", "due", "sent", "busy")

    def __init__(self, port: int):
        self.sock = socket.create_connection((HOST, port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.due = 0.0
        self.sent = 0.0
        self.busy = False


def _request(load: Load, path: str, body: bytes) -> bytes:
    auth = base64.b64encode(f"{load.write_key}:".encode()).decode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}:{load.port}\r\nAuthorization: Basic {auth}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


ID_PREFIX = "p13n-anon-"  # the anonymous ids bench_personalize loads


def _get(load: Load, path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {HOST}:{load.port}\r\n\r\n".encode()


def _next_request(load: Load, prefix: str, n: int) -> bytes:
    if load.kind == "personalize":
        # Spread over the ids (Knuth's multiplicative hash), differently per process.
        visitor = (n * 2654435761 + hash(prefix)) % load.ids
        query = f"writeKey={load.write_key}&anonymousId={ID_PREFIX}{visitor}"
        return _get(load, f"/v1/personalize?{query}")
    if load.kind == "batch" or (load.kind == "mix" and n % load.mix_every == 0):
        return _request(load, "/v1/batch", batch_body(prefix, n, load.batch_size))
    return _request(load, "/v1/track", track_body(prefix, n))


def _parse(buf: bytes) -> tuple[int, int] | None:
    """(status, total length) once the whole answer is in ``buf``, else None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buf[:end].decode("latin-1")
    status = int(head[9:12])
    length = 0
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    total = end + 4 + length
    return (status, total) if len(buf) >= total else None


def _client(load: Load, index: int, start_at: float, counters, out) -> None:
    """One client process: a selector loop over ``load.connections`` connections."""
    loop = _ClientLoop(load, index, counters)
    while time.time() < start_at:
        time.sleep(min(0.01, max(0.0, start_at - time.time())))
    loop.start()
    while loop.step():
        pass
    out.put((index, loop.finish()))


class _ClientLoop:
    def __init__(self, load: Load, index: int, counters):
        self.load, self.index, self.counters = load, index, counters
        self.prefix = f"{load.tag}-p{index}"
        self.per_process = None
        if load.max_requests is not None:
            self.per_process = load.max_requests // load.processes + (
                1 if index < load.max_requests % load.processes else 0
            )
        self.result = Result()
        self.selector = selectors.DefaultSelector()
        self.conns = [_Conn(load.port) for _ in range(load.connections)]
        self.interval = load.connections * load.processes / load.rate if load.rate else 0.0
        self.sent = 0

    def start(self) -> None:
        load = self.load
        self.started = self.last_answer = time.perf_counter()
        self.deadline = self.started + load.duration
        for i, conn in enumerate(self.conns):
            # Open loop: connection k of all starts at k/rate, then every total_conns/rate.
            offset = (i * load.processes + self.index) / load.rate if load.rate else 0.0
            conn.due = self.started + offset
            self.selector.register(conn.sock, selectors.EVENT_READ, conn)

    def step(self) -> bool:
        """Sends what is due and reads what has come; False when the run is over."""
        now = time.perf_counter()
        next_due = self._send_due(now)
        busy = sum(1 for c in self.conns if c.busy)
        if not busy and next_due is None:
            return False
        if now > self.deadline + 30:  # answers that never come: give up, count them as errors
            self.result.errors += busy
            return False
        timeout = 0.05 if next_due is None else max(0.0, min(0.05, next_due - now))
        for key, _ in self.selector.select(timeout):
            self._read(key.data)
        return True

    def _send_due(self, now: float) -> float | None:
        # Open loop: every request scheduled before the deadline is sent, however late
        # (its latency counts from the schedule); closed loop: sending stops at the deadline.
        next_due = None
        for conn in self.conns:
            if conn.busy or (self.per_process is not None and self.sent >= self.per_process):
                continue
            if (conn.due if self.load.rate else now) >= self.deadline:
                continue
            if conn.due <= now:
                conn.sock.sendall(_next_request(self.load, self.prefix, self.sent))
                self.sent += 1
                conn.sent = now
                conn.busy = True
            elif next_due is None or conn.due < next_due:
                next_due = conn.due
        return next_due

    def _read(self, conn: _Conn) -> None:
        data = conn.sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed a keep-alive connection")
        conn.buf += data
        parsed = _parse(conn.buf)
        if parsed is None:
            return
        status, total = parsed
        conn.buf = conn.buf[total:]
        done = self.last_answer = time.perf_counter()
        result = self.result
        result.statuses[status] = result.statuses.get(status, 0) + 1
        if status == 200:
            result.ok += 1
            result.latencies.append(done - (conn.due if self.load.rate else conn.sent))
        else:
            result.errors += 1
        conn.busy = False
        conn.due = conn.due + self.interval if self.load.rate else done
        self.counters[self.index] = result.ok + result.errors

    def finish(self) -> Result:
        self.result.elapsed = self.last_answer - self.started
        for conn in self.conns:
            conn.sock.close()
        return self.result


def run(load: Load, *, progress=None) -> Result:
    """Runs ``load`` from ``load.processes`` client processes and merges their results."""
    ctx = multiprocessing.get_context("spawn")
    counters = ctx.RawArray("q", load.processes)
    out = ctx.Queue()
    start_at = time.time() + 1.0  # every process connected and ready before the clock starts
    procs = [
        ctx.Process(target=_client, args=(load, i, start_at, counters, out), daemon=True)
        for i in range(load.processes)
    ]
    for proc in procs:
        proc.start()
    results: dict[int, Result] = {}
    hard_stop = start_at + load.duration + 60
    while len(results) < len(procs) and time.time() < hard_stop:
        try:
            index, result = out.get(timeout=0.5)
            results[index] = result
        except Exception:  # queue.Empty: nothing yet
            if any(p.exitcode not in (None, 0) for p in procs):
                break
        if progress:
            progress(time.time() - start_at, sum(counters))
    for proc in procs:
        proc.join(timeout=5)
        if proc.is_alive():
            proc.terminate()
    if len(results) < len(procs):
        raise RuntimeError(f"{len(procs) - len(results)} load client(s) failed")
    merged = Result()
    for result in results.values():
        merged.merge(result)
    return merged


# --- wrk, when installed: cheaper than Python for saturating closed-loop runs -----

WRK_SCRIPT = r"""
local counter = 0
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function init(args)
  prefix = args[1] .. "-w" .. tid
  template = args[2]
  headers = {["Authorization"] = args[3], ["Content-Type"] = "application/json"}
end
function request()
  counter = counter + 1
  local body = string.gsub(template, "@MID@", prefix .. "-" .. counter)
  return wrk.format("POST", "/v1/track", headers, body)
end
function done(summary, latency, requests)
  io.write(string.format(
    "WRKJSON {\"requests\": %d, \"duration_us\": %d, \"status_errors\": %d, "
    .. "\"socket_errors\": %d, \"p99_us\": %d}\n",
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout, latency:percentile(99)))
end
"""


def wrk_track(wrk: str, load: Load, script_path: str) -> Result:
    """Closed-loop /v1/track through wrk (unique messageIds from a Lua counter)."""
    import subprocess

    with open(script_path, "w") as f:
        f.write(WRK_SCRIPT)
    template = message("@MID@", 42)
    auth = "Basic " + base64.b64encode(f"{load.write_key}:".encode()).decode()
    argv = [
        wrk,
        "-t",
        str(load.processes),
        "-c",
        str(load.connections * load.processes),
        "-d",
        f"{max(1, int(load.duration))}s",
        "--timeout",
        "10s",
        "-s",
        script_path,
        f"http://{HOST}:{load.port}/v1/track",
        "--",
        load.tag,
        template,
        auth,
    ]
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=load.duration + 60, check=True
    )
    line = next(x for x in proc.stdout.splitlines() if x.startswith("WRKJSON "))
    data = json.loads(line[len("WRKJSON ") :])
    errors = data["status_errors"] + data["socket_errors"]
    return Result(
        ok=data["requests"] - data["status_errors"],
        errors=errors,
        elapsed=data["duration_us"] / 1e6,
        latencies=[data["p99_us"] / 1e6],
    )
