#!/usr/bin/env python3
"""Every sh block of examples/curl.md, in order, as one bash script (set -euo pipefail) against a real
comfy-runner (with a token) and comfy-sim; `127.0.0.1:8189` is replaced by the runner's address. Besides the
script's success, the answers the page describes are checked: the readiness, the parameters, a job's event
stream up to job_finished, the downloaded output (the runner's bytes), client_ref answering the same job, a
cancelled job, the two error codes and the legacy route's STATUS.

Usage: curl_examples_test.py COMFY_RUNNER COMFY_SIM SOURCE_DIR
"""

import json
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stack import SKIP, Stack, check, image_size, run_driver  # noqa: E402


def main(runner, sim, source_dir):
    for tool in ("curl", "jq"):
        if not shutil.which(tool):
            print(f"SKIPPED: {tool} is not installed (apt-get install {tool})")
            return SKIP
    with open(os.path.join(source_dir, "examples", "curl.md")) as f:
        blocks = re.findall(r"```sh\n(.*?)```", f.read(), re.S)
    check(len(blocks) >= 8, f"examples/curl.md has {len(blocks)} sh blocks")
    script = "set -euo pipefail\n" + "\n".join(blocks)
    check("127.0.0.1:8189" in script, "examples/curl.md no longer sets API to the default address")
    # Jobs of 10 steps x 100 ms: the cancel example catches its job before it ends.
    with Stack(runner, sim, source_dir, steps=10, step_ms=100, preview_size=64) as stack:
        script = script.replace("http://127.0.0.1:8189", stack.api)
        work, r = stack.run_script("curl", script, timeout_s=150)
        out = r.stdout
        print(out[:2000], "…", out[-4000:], r.stderr[-3000:], sep="\n")
        check(r.returncode == 0, f"the examples' script exited with {r.returncode}")

        check('{"ready":true}' in out, "not ready")
        check("sd15_txt2img" in out.splitlines(), "workflow list")
        check('{"name":"prompt","type":"string"' in out, "no prompt parameter")
        job_id = re.search(r"^job (\S+)$", out, re.M).group(1)
        check(re.search(r"^event: job_progress$", out, re.M) and re.search(r"^event: job_finished$", out, re.M),
              "the event stream did not show progress and job_finished")
        job = stack.get_json(f"/api/v1/jobs/{job_id}")
        check(job["state"] == "succeeded", f"job {job_id}: {job['state']}")
        with open(os.path.join(work, "fox.png"), "rb") as f:
            fox = f.read()
        _, _, expected = stack.request("GET", f"/api/v1/jobs/{job_id}/outputs/0")
        check(fox == expected and image_size(fox)[0] == "png", "fox.png is not the job's output")

        waited = [json.loads(line) for line in out.splitlines() if line.startswith('{"id":')]
        check(len(waited) == 1 and waited[0]["state"] == "succeeded", f"the waiting job: {waited}")
        check(waited[0]["id"] in out.splitlines(), "client_ref did not answer the same job")
        check('{"state":"running","cancel_requested":true}' in out or
              '{"state":"queued","cancel_requested":true}' in out, "cancel answer")
        check("cancelled" in out.splitlines(), "the cancelled job's state")
        codes = [json.loads(line)["error"]["code"] for line in out.splitlines() if line.startswith('{"error":')]
        check(codes == ["unknown_workflow", "type_mismatch"], f"the error examples: {codes}")
        check("Updated text in node 6 successfully" in out.splitlines(), "the legacy /update/text STATUS")
        check("completed successfully" in out.splitlines(), "the legacy /queue STATUS")
        print(f"ok: {len(blocks)} blocks")
    return 0


if __name__ == "__main__":
    sys.exit(run_driver(main, __doc__))
