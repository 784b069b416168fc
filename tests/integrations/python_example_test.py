#!/usr/bin/env python3
"""The command of examples/python/README.md, run as written against a real comfy-runner and comfy-sim.

The example needs the `websockets` package: the first of this interpreter, /usr/bin/python3 (Debian's
python3-websockets) and python3 on PATH that has it runs the command; with none, the test is skipped (77).
Asserts: exit code 0, the job's progress printed, every preview saved a whole JPEG of the simulator's size,
the output saved byte for byte as the runner serves it, and the inputs given on the command line in the
graph ComfyUI received.

Usage: python_example_test.py COMFY_RUNNER COMFY_SIM SOURCE_DIR
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stack import SKIP, Stack, check, http, image_size, run_driver  # noqa: E402


def interpreter():
    for candidate in (sys.executable, "/usr/bin/python3", shutil.which("python3")):
        if candidate and os.path.exists(candidate):
            r = subprocess.run([candidate, "-c", "import websockets"], capture_output=True, timeout=30)
            if r.returncode == 0:
                return candidate
    return None


def readme_command(source_dir):
    with open(os.path.join(source_dir, "examples", "python", "README.md")) as f:
        text = f.read()
    block = re.search(r"```sh\n(.*?)```", text, re.S)
    check(block, "examples/python/README.md has no sh block")
    command = re.sub(r"\\\n\s*", "", block.group(1)).strip()
    check("\n" not in command and command.startswith("python3 examples/python/run_job.py"), f"command: {command}")
    return command


DECODE = """
import json, os, sys
sys.path.insert(0, sys.argv[1])
import run_job
for frame in sys.argv[3:]:
    with open(frame, "rb") as f:
        decoded = run_job.decode_preview(f.read())
    target = os.path.join(sys.argv[2], os.path.basename(frame) + ".img")
    if decoded:
        with open(target, "wb") as f:
            f.write(decoded[2])
    print(json.dumps({"decoded": decoded is not None, "content_type": decoded and decoded[1], "image": target}))
"""


def check_decoder_on_captures(python, source_dir, work):
    """run_job.decode_preview on ComfyUI's own frames (tests/data/comfyui-captures, types 1 and 4, JPEG and
    PNG): exactly each frame's image bytes, a whole image of the type the header names."""
    captures = os.path.join(source_dir, "tests", "data", "comfyui-captures")
    frames = sorted(os.path.join(captures, n) for n in os.listdir(captures) if n.endswith(".bin"))
    r = subprocess.run([python, "-c", DECODE, os.path.join(source_dir, "examples", "python"), work, *frames],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, f"decode_preview failed: {r.stderr[-2000:]}")
    results = [json.loads(line) for line in r.stdout.splitlines()]
    check(frames and len(results) == len(frames), f"{len(results)} results for {len(frames)} frames")
    for frame, result in zip(frames, results):
        with open(frame, "rb") as f:
            data = f.read()
        if data[3] == 1:
            expected = data[8:]
        else:
            n = int.from_bytes(data[4:8], "big")
            expected = data[8 + n:]
        check(result["decoded"], f"{frame}: not decoded")
        with open(result["image"], "rb") as f:
            image = f.read()
        check(image == expected and result["content_type"] == f"image/{image_size(image)[0]}", f"{frame}: wrong")
    print(f"ok: decode_preview on {len(frames)} captured ComfyUI frames")


def main(runner, sim, source_dir):
    python = interpreter()
    if not python:
        print("SKIPPED: no python3 with the websockets package (Debian: apt-get install python3-websockets)")
        return SKIP
    command = readme_command(source_dir)
    with tempfile.TemporaryDirectory(prefix="cr-python-decode-") as work:
        check_decoder_on_captures(python, source_dir, work)
    with Stack(runner, sim, source_dir, steps=5, step_ms=20, preview_size=80) as stack:
        command = command.replace("http://127.0.0.1:8189", stack.api)
        command = command.replace("python3 examples/python/run_job.py",
                                  f"{python} {os.path.join(source_dir, 'examples', 'python', 'run_job.py')}")
        print(f"$ {command}")
        work, r = stack.run_script("client", command, timeout_s=120)
        print(r.stdout, r.stderr, sep="\n")
        check(r.returncode == 0, f"exit code {r.returncode}")
        job_id = re.search(r"^job (\S+) ", r.stdout, re.M).group(1)
        for step in range(1, 6):
            check(f"step {step}/5 (KSampler 3)" in r.stdout, f"step {step}/5 not printed")
        check(f"job {job_id} succeeded" in r.stdout, "no success line")

        out = os.path.join(work, "fox")
        previews = sorted(n for n in os.listdir(out) if n.startswith("preview-"))
        check(len(previews) == 5 and previews[0] == "preview-001.jpg", f"previews: {previews}")
        for name in previews:
            with open(os.path.join(out, name), "rb") as f:
                kind, size = image_size(f.read())
            check(kind == "jpeg" and max(size) == 80, f"{name}: {kind} {size}")

        job = stack.get_json(f"/api/v1/jobs/{job_id}")
        check(job["state"] == "succeeded" and len(job["outputs"]) == 1, f"job: {job}")
        _, _, expected = stack.request("GET", job["outputs"][0]["url"])
        with open(os.path.join(out, job["outputs"][0]["filename"]), "rb") as f:
            saved = f.read()
        check(saved == expected and image_size(saved)[0] == "png", "the saved output is not the runner's")

        # The inputs reached ComfyUI: the graph in the simulator's history has the prompt and the seed.
        status, _, body = http("GET", f"{stack.sim_url}/history/{job_id}")
        check(status == 200, f"sim history: {status}")
        graph = json.loads(body)[job_id]["prompt"][2]
        texts = [n["inputs"].get("text") for n in graph.values()]
        seeds = [n["inputs"].get("seed") for n in graph.values() if "seed" in n["inputs"]]
        check("a red fox in the snow" in texts and seeds == [42], f"graph texts {texts}, seeds {seeds}")
        print(f"ok: job {job_id}, {len(previews)} previews, output {len(saved)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(run_driver(main, __doc__))
