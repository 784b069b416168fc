#!/usr/bin/env python3
"""examples/node-red/flows.json in a real Node-RED 4 against a real comfy-runner and comfy-sim.

Node-RED is installed from the npm registry into a cache folder (a second run downloads nothing); the test is
skipped (exit 77) with a message when it is not there and the registry cannot be reached, or when Node.js is
missing or too old. Node-RED runs headless on a free port with a temporary userDir and the example flow, whose
runner ports are substituted; the test presses the flow's inject button through the admin API
(POST /inject/<id>) and asserts, through the flow's own HTTP endpoints, that it showed progress, decoded at
least one preview into a valid JPEG or PNG and read the finished image back (the bytes the runner serves).

Usage: node_red_test.py COMFY_RUNNER COMFY_SIM SOURCE_DIR CACHE_DIR [--screenshot PNG]
  CACHE_DIR: where node-red is installed (CR_NODE_RED_CACHE in the environment wins).
  --screenshot: also takes a picture of the flow in the Node-RED editor with headless Chromium.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stack import SKIP, Stack, TestFailure, check, http, image_size, run_driver  # noqa: E402

NODE_RED_MAJOR = "4"


def skip(message):
    print(f"SKIPPED: {message}")
    sys.exit(SKIP)


def run(argv, timeout, **kw):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(argv, 124, "", f"timed out after {timeout} s")


def ensure_node_red(cache):
    """The node-red executable of CACHE/node_modules, installed with npm when missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        skip("Node.js and npm are needed (Debian 12: apt-get install nodejs npm; scripts/deps.sh does it)")
    version = run([node, "--version"], 30).stdout.strip().lstrip("v")
    major, minor = (int(x) for x in version.split(".")[:2])
    if (major, minor) < (18, 5):
        skip(f"Node-RED 4 needs Node.js >= 18.5, this is {version}")
    package = os.path.join(cache, "node_modules", "node-red", "package.json")
    exe = os.path.join(cache, "node_modules", "node-red", "red.js")

    def installed():
        try:
            with open(package) as f:
                return json.load(f)["version"].split(".")[0] == NODE_RED_MAJOR
        except (OSError, ValueError, KeyError):
            return False

    if not installed():
        os.makedirs(cache, exist_ok=True)
        print(f"installing node-red@{NODE_RED_MAJOR} into {cache}")
        r = run([npm, "install", "--prefix", cache, "--cache", os.path.join(cache, "npm-cache"), "--no-audit",
                 "--no-fund", "--no-update-notifier", "--omit=dev", f"node-red@{NODE_RED_MAJOR}"], 300)
        if r.returncode != 0 or not installed():
            ping = run([npm, "ping", "--cache", os.path.join(cache, "npm-cache")], 60)
            if ping.returncode != 0:
                registry = run([npm, "config", "get", "registry"], 30).stdout.strip()
                why = [line for line in (ping.stderr + ping.stdout).splitlines() if "error" in line.lower()]
                skip(f"node-red@{NODE_RED_MAJOR} is not in {cache} and the npm registry {registry} cannot be "
                     f"reached ({why[0].strip() if why else 'npm ping failed'})")
            raise TestFailure(f"npm install node-red@{NODE_RED_MAJOR} failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return node, exe


SETTINGS = """// Written by tests/integrations/node_red_test.py: headless, loopback only, nothing phones home.
module.exports = {
    uiHost: "127.0.0.1",
    uiPort: 0,
    flowFile: "flows.json",
    credentialSecret: false,
    flowFilePretty: true,
    editorTheme: { tours: false, projects: { enabled: false }, palette: { catalogues: [] } },
    externalModules: { autoInstall: false, palette: { allowInstall: false } },
    telemetry: { enabled: false, updateNotification: false },
    diagnostics: { enabled: false, ui: false },
    logging: { console: { level: "info", metrics: false, audit: false } },
    functionGlobalContext: {},
};
"""


def flow_for(source_dir, stack):
    """The example flow with the runner's ports in place of the defaults 8189 (API) and 8190 (relay), and its
    "events" and "image" debug nodes also writing to Node-RED's log (console), where the test waits for them:
    those two are sinks, so the flow does what it does as written."""
    with open(os.path.join(source_dir, "examples", "node-red", "flows.json")) as f:
        text = f.read()
    check("127.0.0.1:8189" in text and "127.0.0.1:8190" in text, "the example flow no longer names the default ports")
    text = text.replace("127.0.0.1:8189", f"127.0.0.1:{stack.api_port}")
    text = text.replace("127.0.0.1:8190", f"127.0.0.1:{stack.relay_port}")
    flow = json.loads(text)
    for name in ("events", "image"):
        node = node_by(flow, "debug", name)
        check(node["wires"] == [], f"the debug node '{name}' has outputs")
        node["console"] = True
    return flow


def node_by(flow, type_, name):
    found = [n for n in flow if n.get("type") == type_ and n.get("name") == name]
    check(len(found) == 1, f"the example flow has {len(found)} {type_} nodes named '{name}'")
    return found[0]


# Runs the flow's own "decode relay frames" function (its source in flows.json) in plain Node.js, with stand-ins
# for Node-RED's node/flow/env objects, on each frame file; prints one JSON line per frame and writes the
# decoded image next to it.
DECODE_HARNESS = r"""
const fs = require("fs"), path = require("path");
const [flowFile, outDir, ...frames] = process.argv.slice(2);
const fn = JSON.parse(fs.readFileSync(flowFile, "utf8"))
    .find((n) => n.type === "function" && n.name === "decode relay frames");
const decode = new Function("msg", "node", "flow", "env", "Buffer", fn.func);
const context = {};
const flow = {get: (k) => context[k], set: (k, v) => { context[k] = v; }};
const env = {get: () => undefined};
const node = {status() {}, warn() {}, error() {}};
for (const file of frames) {
    const out = decode({payload: fs.readFileSync(file)}, node, flow, env, Buffer);
    const preview = out && out[0];
    const line = {file: path.basename(file), decoded: !!preview};
    if (preview) {
        const target = path.join(outDir, path.basename(file) + ".img");
        fs.writeFileSync(target, preview.payload);
        Object.assign(line, {image: target, content_type: preview.contentType, job_id: preview.job_id});
    }
    console.log(JSON.stringify(line));
}
"""


def check_decoder_on_captures(node, source_dir, work):
    """The flow's decoder on ComfyUI's own preview frames (tests/data/comfyui-captures): type 1 and type 4,
    JPEG previews and SaveImageWebsocket's PNGs. Each must give exactly the frame's image bytes, a whole image
    of the type its header names."""
    captures = os.path.join(source_dir, "tests", "data", "comfyui-captures")
    frames = sorted(os.path.join(captures, n) for n in os.listdir(captures) if n.endswith(".bin"))
    check(frames, "no captured binary frames")
    harness = os.path.join(work, "decode_harness.js")
    with open(harness, "w") as f:
        f.write(DECODE_HARNESS)
    flows = os.path.join(source_dir, "examples", "node-red", "flows.json")
    r = run([node, harness, flows, work, *frames], 60)
    check(r.returncode == 0, f"the decode harness failed: {r.stderr[-2000:]}")
    results = [json.loads(line) for line in r.stdout.splitlines()]
    check(len(results) == len(frames), f"{len(results)} results for {len(frames)} frames")
    kinds = set()
    for frame, result in zip(frames, results):
        with open(frame, "rb") as f:
            data = f.read()
        kind = int.from_bytes(data[0:4], "big")
        if kind == 1:
            expected, mime = data[8:], {1: "image/jpeg", 2: "image/png"}[int.from_bytes(data[4:8], "big")]
        else:
            check(kind == 4, f"{result['file']}: a capture of type {kind}")
            n = int.from_bytes(data[4:8], "big")
            expected, mime = data[8 + n:], json.loads(data[8:8 + n])["image_type"]
        check(result["decoded"], f"{result['file']}: not decoded")
        with open(result["image"], "rb") as f:
            image = f.read()
        check(image == expected, f"{result['file']}: the decoded bytes are not the frame's image")
        check(result["content_type"] == mime == f"image/{image_size(image)[0]}", f"{result['file']}: {mime}")
        kinds.add((kind, mime))
    check({(1, "image/jpeg"), (4, "image/jpeg"), (4, "image/png")} <= kinds, f"captures cover only {kinds}")
    print(f"ok: the flow's decoder on {len(frames)} captured ComfyUI frames ({sorted(kinds)})")


def screenshot(editor_url, out):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    check(chromium, "chromium is not installed (apt-get install chromium)")
    profile = os.path.join(os.path.dirname(os.path.abspath(out)), ".chromium-profile")
    r = run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={profile}",
             "--window-size=1680,800", "--virtual-time-budget=15000", f"--screenshot={out}", editor_url], 120)
    shutil.rmtree(profile, ignore_errors=True)
    check(r.returncode == 0 and os.path.exists(out), f"chromium failed: {r.stderr[-2000:]}")
    print(f"screenshot: {out}")


def main(runner, sim, source_dir, cache, *options):
    shot = options[1] if len(options) > 1 and options[0] == "--screenshot" else None
    cache = os.environ.get("CR_NODE_RED_CACHE") or cache  # e.g. ~/.cache/comfy-runner/node-red for every build
    node, red = ensure_node_red(os.path.abspath(cache))

    with tempfile.TemporaryDirectory(prefix="cr-node-red-decode-") as work:
        check_decoder_on_captures(node, source_dir, work)

    with Stack(runner, sim, source_dir, steps=6, step_ms=40, preview_size=96) as stack:
        user_dir = stack.folder("node-red")
        flow = flow_for(source_dir, stack)
        with open(os.path.join(user_dir, "flows.json"), "w") as f:
            json.dump(flow, f)
        with open(os.path.join(user_dir, "settings.js"), "w") as f:
            f.write(SETTINGS)
        env = stack.client_env(NODE_RED_ENABLE_PROJECTS="false")
        nr = stack.start("node-red", [node, red, "--userDir", user_dir, "--settings",
                                      os.path.join(user_dir, "settings.js"), "flows.json"], env=env, cwd=user_dir)
        base = nr.wait_for_log(r"Server now running at (http://127\.0\.0\.1:\d+)/", timeout_s=90)
        nr.wait_for_log(r"Started flows", timeout_s=60)
        check("missing types" not in nr.log(), f"the flow needs nodes that are not core nodes:\n{nr.log()[-2000:]}")

        def state():
            status, _, body = http("GET", base + "/comfy-runner/state", timeout=10)
            check(status == 200, f"GET /comfy-runner/state: {status} {body[:300]!r}")
            return json.loads(body)

        # The flow's websocket-in must be on the relay before the job runs, or its previews are missed: the
        # runner logs each relay client it has taken on.
        stack.runner.wait_for_log(r"relay: client \S+ connected from", timeout_s=30)
        relay_clients = stack.get_json("/api/v1/system")["relay"]["clients"]
        check(relay_clients == 1, f"the runner's relay has {relay_clients} clients, not the flow's one")

        inject = node_by(flow, "inject", "submit job")
        status, _, body = http("POST", f"{base}/inject/{inject['id']}", timeout=10)
        check(status == 200, f"POST /inject/{inject['id']}: {status} {body!r}")

        # The flow's end: its "image" debug node logs the finished image it read back; a refusal or a failed
        # output read is an [error] of the flow's function nodes, a failed or cancelled job an event it logs.
        nr.wait_for_log(r"\[debug:image\]|\[error\]|type: 'job_(?:failed|cancelled)'", timeout_s=60)
        s = state()
        print(json.dumps({k: v for k, v in s.items() if k != "statuses"}, indent=1)[:3000])
        check(not s["errors"] and not s["failed"], f"the flow saw errors: {s['errors']} {s['failed']}")
        check(s["relay"] == "connected", f"the flow's relay connection: {s['relay']}")
        check(len(s["submitted"]) == 1, f"submitted: {s['submitted']}")
        job_id = s["submitted"][0]
        job = stack.get_json(f"/api/v1/jobs/{job_id}")
        check(job["state"] == "succeeded", f"the runner's job is {job['state']}")
        check(job["workflow"] == "sd15_txt2img", f"workflow {job['workflow']}")

        # Progress: the relay's job_progress events up to the last step, shown as the decode node's status.
        steps = [p for p in s["progress"] if p["job_id"] == job_id and p["max"] > 0]
        check(steps and steps[-1]["value"] == steps[-1]["max"] == 6, f"progress seen: {steps}")
        shown = [st["text"] for st in s["statuses"] if st["node"] == "decode relay frames"]
        check(f"{job_id[:8]} step 6/6" in shown, f"the decode node's status never showed the last step: {shown}")
        check(any(t.startswith(f"{job_id[:8]} finished") for t in shown), f"no 'finished' status: {shown}")

        # Previews: decoded from the relay's type-4 frames into whole images of the simulator's size.
        check(s["previews"] >= 1, "no preview was decoded")
        last = s["last_preview"]
        check(last["frame_type"] == 4 and last["job_id"] == job_id, f"last preview: {last}")
        status, headers, preview = http("GET", base + "/comfy-runner/preview")
        check(status == 200, f"GET /comfy-runner/preview: {status}")
        kind, preview_size = image_size(preview)
        check(headers.get("Content-Type") == f"image/{kind}" == last["content_type"],
              f"preview {kind} served as {headers.get('Content-Type')}, decoded as {last['content_type']}")
        check(max(preview_size) == 96, f"preview of {preview_size}, the simulator sends 96 px")
        check(len(preview) == last["bytes"], "the served preview is not the decoded one")

        # The finished image: the bytes of the runner's output 0.
        status, headers, image = http("GET", base + "/comfy-runner/image")
        check(status == 200, f"GET /comfy-runner/image: {status}")
        _, _, expected = stack.request("GET", f"/api/v1/jobs/{job_id}/outputs/0")
        check(image == expected, f"the flow's image ({len(image)} bytes) is not the runner's output ({len(expected)})")
        kind, size = image_size(image)
        check(kind == "png" and headers.get("Content-Type") == "image/png", f"final image {kind} {headers}")
        check(s["images"] == [{"job_id": job_id, "filename": job["outputs"][0]["filename"],
                               "content_type": "image/png", "bytes": len(expected)}], f"images: {s['images']}")
        print(f"ok: job {job_id}: {len(steps)} progress events, {s['previews']} previews "
              f"({last['content_type']}, {max(preview_size)} px), final image {size[0]}x{size[1]} PNG of {len(image)} bytes")

        if shot:
            screenshot(base + "/#flow/" + flow[0]["id"], shot)
    return 0


if __name__ == "__main__":
    sys.exit(run_driver(main, __doc__, min_args=4))
