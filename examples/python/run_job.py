#!/usr/bin/env python3
"""Run one comfy_runner job with inputs, follow it over the event relay, save its previews and outputs.

Standard library plus `websockets` (Debian: apt install python3-websockets; else pip install websockets).

    python3 run_job.py --api http://127.0.0.1:8189 --workflow sd15_txt2img \\
        --input prompt="a red fox in the snow" --input seed=42 --out fox/

The token comes from --token or COMFY_RUNNER_TOKEN. The relay's address is asked of the API
(GET /api/v1/system) unless --relay gives it. The script connects to the relay before it submits the job, so
no event of the job is missed, and keeps only the job's own events (envelope job_id) and previews (the job_id
in the relay's type-4 preview frames). Exit code: 0 when the job succeeded, 1 when it failed or was cancelled,
2 for a usage, connection or API error.
"""

import argparse
import asyncio
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

import websockets

FINAL = ("job_finished", "job_failed", "job_cancelled")
TYPES = "job_queued,job_started,job_progress," + ",".join(FINAL)


class ApiError(Exception):
    pass


class Runner:
    """The runner's REST API (urllib, blocking: called from a thread)."""

    def __init__(self, api, token):
        self.api = api.rstrip("/")
        self.token = token

    def call(self, method, path, body=None, raw=False):
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.api + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                payload = r.read()
                return (payload, r.headers.get("Content-Type", "")) if raw else json.loads(payload)
        except urllib.error.HTTPError as e:
            try:  # the runner's errors: {"error": {"code", "message", "details"}}
                err = json.loads(e.read())["error"]
                raise ApiError(f"{method} {path}: {e.code} {err['code']}: {err['message']}") from None
            except (ValueError, KeyError):
                raise ApiError(f"{method} {path}: HTTP {e.code}") from None
        except urllib.error.URLError as e:
            raise ApiError(f"{method} {path}: {e.reason}") from None

    def relay_url(self):
        port = self.call("GET", "/api/v1/system")["service"]["relay_port"]
        host = urllib.parse.urlsplit(self.api).hostname
        return f"ws://{'[' + host + ']' if ':' in host else host}:{port}/"


def parse_inputs(pairs):
    """KEY=VALUE pairs; a VALUE that is JSON (42, 7.5, true, "x", [1]) is taken as such, else as a string."""
    inputs = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--input wants KEY=VALUE, not {pair!r}")
        try:
            inputs[key] = json.loads(value)
        except ValueError:
            inputs[key] = value
    return inputs


def decode_preview(frame):
    """(metadata, content type, image bytes) of a preview frame, or None for other binary frames.

    ComfyUI's layouts, big-endian u32s: type 1 = u32 1 | u32 format (1 JPEG, 2 PNG) | image; type 4 =
    u32 4 | u32 n | n bytes of metadata JSON | image. The relay's type-4 metadata adds backend and job_id."""
    if len(frame) < 8:
        return None
    kind = int.from_bytes(frame[0:4], "big")
    if kind == 1:
        fmt = int.from_bytes(frame[4:8], "big")
        return {}, "image/png" if fmt == 2 else "image/jpeg", frame[8:]
    if kind == 4:
        n = int.from_bytes(frame[4:8], "big")
        if 8 + n > len(frame):
            return None
        meta = json.loads(frame[8:8 + n])
        return meta, "image/png" if meta.get("image_type") == "image/png" else "image/jpeg", frame[8 + n:]
    return None  # type 3 (text) and custom nodes' frames


def connect(url, token):
    headers = {"Authorization": "Bearer " + token} if token else {}
    major = int(websockets.__version__.split(".")[0])
    # max_size=None: a full-size PNG from SaveImageWebsocket arrives as one large frame.
    if major >= 14:
        return websockets.connect(url, additional_headers=headers, max_size=None)
    return websockets.connect(url, extra_headers=headers, max_size=None)


async def run(args):
    runner = Runner(args.api, args.token)
    relay = args.relay or await asyncio.to_thread(runner.relay_url)
    query = urllib.parse.urlencode({"envelope": "1", "previews": "type4", "types": TYPES})
    os.makedirs(args.out, exist_ok=True)
    async with connect(f"{relay}{'&' if '?' in relay else '?'}{query}", args.token) as ws:
        # Everything the relay sends is queued from now on, so events that come before the POST answer are
        # kept until the job id is known.
        frames = asyncio.Queue()

        async def reader():
            try:
                async for frame in ws:
                    frames.put_nowait(frame)
            finally:
                frames.put_nowait(None)

        reading = asyncio.create_task(reader())
        body = {"workflow": args.workflow, "inputs": parse_inputs(args.input)}
        job = await asyncio.to_thread(runner.call, "POST", "/api/v1/jobs", body)
        job_id = job["id"]
        print(f"job {job_id} {job['state']}", flush=True)
        previews = 0
        final = None
        while final is None:
            frame = await asyncio.wait_for(frames.get(), timeout=args.timeout)
            if frame is None:
                print("the relay closed the connection; asking the API", flush=True)
                break
            if isinstance(frame, bytes):
                preview = decode_preview(frame)
                if preview is None or preview[0].get("job_id") not in (job_id, None):
                    continue
                meta, content_type, image = preview
                previews += 1
                name = f"preview-{previews:03d}.{'png' if content_type == 'image/png' else 'jpg'}"
                with open(os.path.join(args.out, name), "wb") as f:
                    f.write(image)
                continue
            envelope = json.loads(frame)
            if envelope.get("job_id") != job_id or envelope["type"].startswith("relay_"):
                continue
            data = envelope["event"].get("data", {})
            if envelope["type"] == "job_progress" and data.get("max"):
                print(f"step {data['value']:g}/{data['max']:g} ({data.get('class_type', '')} {data.get('node')})",
                      flush=True)
            elif envelope["type"] == "job_progress":  # max 0: a node started
                print(f"node {data.get('node')} ({data.get('class_type', '')})", flush=True)
            elif envelope["type"] in FINAL:
                final = envelope["type"]
            else:
                print(envelope["type"], flush=True)
        reading.cancel()

    job = await asyncio.to_thread(runner.call, "GET", f"/api/v1/jobs/{job_id}")
    print(f"job {job_id} {job['state']} after {job.get('duration_ms')} ms, {previews} preview(s) in {args.out}",
          flush=True)
    if job["state"] != "succeeded":
        print(f"reason: {job.get('reason')}, error: {json.dumps(job.get('error'))}", flush=True)
        return 1
    for output in job["outputs"]:
        data, content_type = await asyncio.to_thread(runner.call, "GET", output["url"], None, True)
        name = os.path.basename(output["filename"]) or f"output-{output['index']}"
        with open(os.path.join(args.out, name), "wb") as f:
            f.write(data)
        print(f"output {output['index']}: {name} ({content_type}, {len(data)} bytes)", flush=True)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--api", default="http://127.0.0.1:8189", help="the runner's REST API")
    p.add_argument("--relay", help="the event relay, ws://host:port/ (default: asked of the API)")
    p.add_argument("--token", default=os.environ.get("COMFY_RUNNER_TOKEN", ""), help="bearer token")
    p.add_argument("--workflow", default="sd15_txt2img")
    p.add_argument("--input", action="append", default=[], metavar="KEY=VALUE",
                   help="a named parameter or node.input (repeatable)")
    p.add_argument("--out", default="comfy-runner-out", help="folder for previews and outputs")
    p.add_argument("--timeout", type=float, default=600, help="seconds without any relay message before giving up")
    args = p.parse_args()
    try:
        return asyncio.run(run(args))
    except ApiError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (OSError, websockets.exceptions.WebSocketException, asyncio.TimeoutError) as e:
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
