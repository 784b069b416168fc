"""A real comfy-sim and comfy-runner on free ports, for the integration tests of tests/integrations.

Standard library only. Nothing here sleeps: every wait is on an event (a line a child process writes, read
from its pipe as it comes, or the child's exit) and has a deadline; every process started here is ended when
the Stack is closed (also on an exception: use it as a context manager). run_driver() is the drivers' common
entry point.
"""

import codecs
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zlib

SKIP = 77  # CTest SKIP_RETURN_CODE of these tests


class TestFailure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise TestFailure(message)


def run_driver(main, usage, min_args=3):
    """Calls main(*arguments) with the command line's arguments (COMFY_RUNNER COMFY_SIM SOURCE_DIR ...) and
    returns its exit code; a TestFailure is printed as FAIL and is 1, too few arguments print usage (2)."""
    args = sys.argv[1:]
    if len(args) < min_args:
        print(usage)
        return 2
    try:
        return main(*args)
    except TestFailure as e:
        print(f"FAIL: {e}")
        return 1


class Process:
    """A child process whose stdout and stderr are read by a thread as they come, into a log file and into
    memory; wait_for_log() is woken by each chunk the child writes and by the end of its output."""

    def __init__(self, name, argv, log_path, env=None, cwd=None):
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self._text = ""
        self._ended = False  # the child's output ended (it exited, or closed stdout and stderr)
        self._changed = threading.Condition()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True)
        self._reader = threading.Thread(target=self._read, name=f"{name} output", daemon=True)
        self._reader.start()

    def _read(self):
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        fd = self.proc.stdout.fileno()
        while True:
            chunk = os.read(fd, 65536)  # blocks until the child writes or its output ends
            self._log.write(chunk)
            self._log.flush()
            with self._changed:
                self._text += decoder.decode(chunk, final=not chunk)
                self._ended = not chunk
                self._changed.notify_all()
            if not chunk:
                return

    def log(self):
        with self._changed:
            return self._text

    def wait_for_log(self, pattern, timeout_s=30):
        """The first match of the regular expression in the output (its group 1 when it has one), waiting for
        the child to write it; TestFailure when the child's output ends without it or after timeout_s."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                m = regex.search(self._text)
                if m:
                    return m.group(1) if regex.groups else m.group(0)
                remaining = deadline - time.monotonic()
                if self._ended or remaining <= 0:
                    break
                self._changed.wait(remaining)
            ended = self._ended
        if ended:  # the output ended: the child exits (or has), its code says how
            try:
                code = self.proc.wait(timeout=max(deadline - time.monotonic(), 1))
                why = f"{self.name} exited with {code} without writing '{pattern}'"
            except subprocess.TimeoutExpired:
                why = f"{self.name} closed its output without writing '{pattern}'"
        else:
            why = f"timed out after {timeout_s} s waiting for '{pattern}' in the output of {self.name}"
        print(f"--- {self.name} log ---\n{self.log()[-4000:]}")
        raise TestFailure(why)

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._reader.join(timeout=10)  # the rest of its output, up to the end
        self.proc.stdout.close()
        self._log.close()


class Stack:
    """comfy-sim + comfy-runner (config_example.toml of the source tree, ports 0, a temporary data folder).
    The simulator's jobs take `steps` sampler steps of `step_ms` each (its other nodes no time), with previews
    of `preview_size` px."""

    def __init__(self, runner, sim, source_dir, steps, step_ms, preview_size, token="integration-token"):
        self.work = tempfile.mkdtemp(prefix="cr-integration-")
        self.processes = []
        self.token = token
        try:
            self.sim = self.start("comfy-sim", [sim, "--port", "0", "--steps", str(steps), "--step-ms", str(step_ms),
                                                "--node-ms", "0", "--preview-size", str(preview_size)])
            self.sim_url = self.sim.wait_for_log(r"listening on (http://127\.0\.0\.1:\d+)")
            env = dict(os.environ)
            env["COMFY_RUNNER_TOKEN"] = token
            self.runner = self.start("comfy-runner", [
                runner, os.path.join(source_dir, "config_example.toml"), "--comfy-url", self.sim_url,
                "--http-port", "0", "--relay-port", "0", "--data-dir", os.path.join(self.work, "data")], env=env)
            self.runner.wait_for_log(r"ComfyUI connected")
            self.api = self.runner.wait_for_log(r"REST API on (http://[0-9.]+:\d+)")
            relay = self.runner.wait_for_log(r"event relay on (ws://[0-9.]+:\d+)")
            self.relay = relay + "/"
            self.api_port = int(self.api.rsplit(":", 1)[1])
            self.relay_port = int(relay.rsplit(":", 1)[1])
        except BaseException:
            self.close()
            raise

    def start(self, name, argv, env=None, cwd=None):
        p = Process(name, argv, os.path.join(self.work, f"{name}.log"), env=env, cwd=cwd)
        self.processes.append(p)
        return p

    def folder(self, name):
        """A new empty folder in the stack's temporary one."""
        path = os.path.join(self.work, name)
        os.makedirs(path)
        return path

    def client_env(self, **extra):
        """The environment of a client of the runner: this one with COMFY_RUNNER_TOKEN (and extra)."""
        return dict(os.environ, COMFY_RUNNER_TOKEN=self.token, **extra)

    def run_script(self, name, script, timeout_s):
        """Runs the bash script in a new folder NAME with client_env(), as a user would: (the folder, the
        CompletedProcess with its text stdout and stderr); TestFailure when it has not exited after timeout_s."""
        cwd = self.folder(name)
        try:
            r = subprocess.run(["bash", "-c", script], cwd=cwd, env=self.client_env(), capture_output=True,
                               text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired as e:
            raise TestFailure(f"{name}: still running after {timeout_s} s:\n{e.stdout!r:.2000}\n{e.stderr!r:.2000}")
        return cwd, r

    def close(self):
        for p in reversed(self.processes):
            p.stop()
        self.processes = []
        shutil.rmtree(self.work, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def request(self, method, url, body=None, token=True, timeout=30):
        """(status, headers, body bytes); an absolute URL or a path on the runner's API."""
        if url.startswith("/"):
            url = self.api + url
        headers = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token and self.token:
            headers["Authorization"] = "Bearer " + self.token
        return http(method, url, data, headers, timeout)

    def get_json(self, url, token=True):
        status, _, body = self.request("GET", url, token=token)
        check(status == 200, f"GET {url}: {status} {body[:300]!r}")
        return json.loads(body)


def http(method, url, data=None, headers=None, timeout=30):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


# --- image checks: the bytes must be a whole, well-formed image, not just start like one ---------------

def png_size(data):
    """(width, height) of a PNG after checking every chunk's CRC and inflating its image data; else raises."""
    check(data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature")
    pos, idat, width, height, bpp, ended = 8, b"", None, None, None, False
    while pos < len(data):
        check(pos + 12 <= len(data), "a PNG chunk is cut off")
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        check(len(chunk) == length, "a PNG chunk is cut off")
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        check(zlib.crc32(kind + chunk) == crc, f"PNG chunk {kind!r}: bad CRC")
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", chunk[:10])
            channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
            bpp = max(1, channels * depth // 8)
        elif kind == b"IDAT":
            idat += chunk
        elif kind == b"IEND":
            ended = True
            break
        pos += 12 + length
    check(width and ended, "PNG without IHDR or IEND")
    raw = zlib.decompress(idat)
    check(len(raw) == height * (1 + width * bpp), f"PNG image data of {len(raw)} bytes for {width}x{height}")
    return width, height


def jpeg_size(data):
    """(width, height) of a baseline or progressive JPEG after walking every segment to EOI; else raises."""
    check(data[:2] == b"\xff\xd8", "not a JPEG (no SOI)")
    pos, size = 2, None
    while True:
        check(pos + 2 <= len(data) and data[pos] == 0xFF, f"JPEG: no marker at {pos}")
        marker = data[pos + 1]
        if marker == 0xD9:
            break
        check(pos + 4 <= len(data), "JPEG: a segment header is cut off")
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        check(pos + 2 + length <= len(data), "JPEG: a segment runs past the end")
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack(">HH", data[pos + 5:pos + 9])
            size = (width, height)
        pos += 2 + length
        if marker == 0xDA:  # entropy-coded data up to the next marker that is not a stuffed 0xFF00 or RSTn
            while pos + 1 < len(data) and not (data[pos] == 0xFF and data[pos + 1] not in (0x00, *range(0xD0, 0xD8))):
                pos += 1
    check(size is not None, "JPEG without a frame header")
    check(pos + 2 == len(data), f"JPEG: {len(data) - pos - 2} bytes after EOI")
    return size


def image_size(data):
    if data[:4] == b"\x89PNG":
        return "png", png_size(data)
    return "jpeg", jpeg_size(data)
