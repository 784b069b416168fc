#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (fuzz/corpus/<target>/) from the recorded ComfyUI traffic
(tests/data/comfyui-captures), the repository's workflows/, config_example.toml, tests/config/data and
hand-written HTTP heads, multipart bodies and relay messages. Run it again after the captures change; the
output is deterministic and small (preview images are cut to their first bytes: the parsers never decode
them). Usage: fuzz/make_corpus.py"""
import glob
import hashlib
import json
import os
import shutil
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CAPTURES = os.path.join(ROOT, "tests", "data", "comfyui-captures")
OUT = os.path.join(ROOT, "fuzz", "corpus")
SEP = b"\n----\n"  # fuzzsupport.h splitSections()
IMAGE_BYTES = 256  # of each preview image kept


def write(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def captures():
    for path in sorted(glob.glob(os.path.join(CAPTURES, "*.jsonl"))):
        scenario = os.path.basename(path)[:-len(".jsonl")]
        with open(path) as f:
            for line in f:
                yield scenario, json.loads(line)


def u32(v):
    return struct.pack(">I", v)


def binary_frames():
    for path in sorted(glob.glob(os.path.join(CAPTURES, "*-bin-*.bin"))):
        raw = open(path, "rb").read()
        name = os.path.basename(path)[:-len(".bin")]
        kind = struct.unpack(">I", raw[:4])[0]
        if kind == 4:
            meta_len = struct.unpack(">I", raw[4:8])[0]
            yield name, raw[:8 + meta_len + IMAGE_BYTES]
        else:
            yield name, raw[:8 + IMAGE_BYTES]


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)

    # binaryframe: recorded frames (one per scenario and kind), type 1 / type 3 built the same way, edge cases.
    seen = set()
    previews = []
    for name, frame in binary_frames():
        key = (name.split("-bin-")[0], frame[:4])
        if key in seen:
            continue
        seen.add(key)
        write("binaryframe", name, frame)
        previews.append(frame)
    jpeg = previews[0][8 + struct.unpack(">I", previews[0][4:8])[0]:]
    write("binaryframe", "type1-jpeg", u32(1) + u32(1) + jpeg)
    write("binaryframe", "type1-png", u32(1) + u32(2) + b"\x89PNG\r\n\x1a\n")
    write("binaryframe", "type1-badformat", u32(1) + u32(7) + b"x")
    write("binaryframe", "type3-text", u32(3) + u32(1) + b"9" + "a lighthouse \u00e4".encode())
    write("binaryframe", "type3-badlength", u32(3) + u32(0xFFFFFFFF) + b"9")
    write("binaryframe", "type4-badmeta", u32(4) + u32(5) + b"[1,2]" + b"img")
    write("binaryframe", "type4-nulls", u32(4) + u32(2) + b"{}" + b"img")
    write("binaryframe", "unknown-type", u32(99) + b"custom node payload")
    write("binaryframe", "short", b"\x00\x00")

    # comfyevents: every distinct event type as ComfyUI sent it (a few of each), plus odd shapes.
    per_type = {}
    relay_sample = []
    for scenario, r in captures():
        if r.get("dir") != "ws_in" or r.get("kind") != "text" or "raw" not in r:
            continue
        t = r.get("type", "")
        n = per_type.get(t, 0)
        if n >= 3:
            continue
        per_type[t] = n + 1
        write("comfyevents", "%s-%s-%d" % (scenario, t, n), r["raw"])
        if t in ("progress", "executing", "executed") and len(relay_sample) < 3:
            relay_sample.append(r["raw"])
    for i, raw in enumerate(['{"type": "executing", "data": {"node": 3, "prompt_id": null}}',
                             '{"type": "executed", "data": {"node": "9", "output": {"images": [{"filename": 1}, '
                             '{"filename": "a.png", "type": "temp"}], "animated": [true], "text": ["x"]}}}',
                             '{"type": "progress_state", "data": {"prompt_id": "p", "nodes": {"10": {"value": 1, '
                             '"max": 2, "state": "running", "parent_node_id": null}, "9": []}}}',
                             '{"type": "progress", "data": [1, 2]}', '{"type": 5}', '[]', '{"type": "logs"}',
                             '{"type": "execution_error", "data": {"exception_type": "ExecutionBlocked", '
                             '"traceback": ["a", 2], "timestamp": 1e400}}']):
        write("comfyevents", "edge-%d" % i, raw)

    # relaymessages: client messages, connection queries, envelopes and relay previews.
    msgs = ['{"type":"hello","data":{"protocol":1,"jobs":["a","b"],"types":["progress"],"previews":"type4",'
            '"preview_fps":2.5,"envelope":true,"binary":false,"since":120}}',
            '{"type":"hello","data":{"protocol":2}}', '{"type":"hello","data":{"protocol":1,"jobs":null}}',
            '{"type":"subscribe","data":{"types":[],"previews":"off"}}',
            '{"type":"subscribe","data":{"jobs":"x"}}', '{"type":"ping","data":{"id":[1,{"a":null}]}}',
            '{"type":"ping"}', '{"type":"bye"}', '{"type":"ping","extra":1}', '{"type', 'null',
            'jobs=a,b&types=progress,job_finished&previews=type4&preview_fps=5&envelope=1&binary=0&since=120&token=x',
            'job=a&job=%20b%20,,c&type=status&previews=on&envelope=yes', 'preview_fps=nan', 'since=-1',
            'previews=type9', 'envelope=maybe&unknown=1',
            'preview_fps=0.1234567']  # the last one fails fuzz_relaymessages' round trip before the relayQuery fix
    for i, m in enumerate(msgs):
        write("relaymessages", "msg-%02d" % i, m)
    for i, raw in enumerate(relay_sample):
        env = '{"seq":%d,"ts":1764200000000,"type":"x","job_id":"j","prompt_id":null,"event":%s}' % (i + 1, raw)
        write("relaymessages", "envelope-%d" % i, env)
    meta = previews[0][8:8 + struct.unpack(">I", previews[0][4:8])[0]]
    relay_meta = meta[:-1] + b', "job_id": "5d1c"}'
    write("relaymessages", "preview-type4-job", u32(4) + u32(len(relay_meta)) + relay_meta + b"\xff\xd8\xff")

    # multipart: "<Content-Type>\n----\n<body>" (fuzz_multipart.cpp).
    def multipart(boundary, parts, close=True):
        body = b""
        for headers, data in parts:
            body += b"--" + boundary + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + data + b"\r\n"
        if close:
            body += b"--" + boundary + b"--\r\n"
        return body
    b = b"ebe59d8b56384b0190e29c9dd2b8904d"  # the boundary aiohttp used in F_upload
    ct = b"multipart/form-data; boundary=" + b
    png = open(os.path.join(CAPTURES, "F_upload-http-001.png"), "rb").read()[:IMAGE_BYTES]
    write("multipart", "upload", ct + SEP + multipart(b, [
        ([b'Content-Disposition: form-data; name="image"; filename="capture_upload.png"', b"Content-Type: image/png"], png),
        ([b'Content-Disposition: form-data; name="type"'], b"input"),
        ([b'Content-Disposition: form-data; name="overwrite"'], b"true")]))
    write("multipart", "quoted-boundary", b'multipart/form-data; charset=utf-8; boundary="a b"' + SEP +
          multipart(b"a b", [([b"content-disposition: form-data; name=x"], b"1")]))
    write("multipart", "unterminated", ct + SEP + multipart(b, [([b'Content-Disposition: form-data; name="a"'], b"x")], False)[:-2])
    write("multipart", "no-head-end", ct + SEP + b"--" + b + b"\r\nContent-Type: x\r\n")
    write("multipart", "bad-delimiter", ct + SEP + b"--" + b + b"xx")
    write("multipart", "empty-body", ct + SEP)
    write("multipart", "not-multipart", b"application/json" + SEP + b"{}")
    write("multipart", "many-parts", ct + SEP + multipart(b, [([b'Content-Disposition: form-data; name="p%d"' % i], b"v")
                                                            for i in range(6)]))

    # httpguard: raw request bytes as a client sends them.
    heads = {
        "get": b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n",
        "pipelined": b"GET /a HTTP/1.1\r\n\r\n\r\nGET /b HTTP/1.1\r\nHost: y\r\n\r\n",
        "post-body": b"POST /api/v1/jobs HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n"
                     b'{"workflow":"x"}\n',
        "post-then-get": b"POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\n\r\n",
        "expect-continue": b"POST /api/v1/uploads HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n0123456789",
        "too-large": b"POST / HTTP/1.1\r\nContent-Length: 10000000000\r\n\r\n",
        "bad-length": b"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        "two-lengths": b"POST / HTTP/1.1\r\nContent-Length: 3\r\ncontent-length : 4\r\n\r\nabcd",
        "chunked": b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "bare-lf": b"GET / HTTP/1.1\nHost: x\n\n",
        "long-header": b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 1100 + b"\r\n\r\n",
        "garbage": b"GARBAGE\r\n\r\n",
        "partial": b"GET / HTTP/1.1\r\nHost:",
        "websocket": b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
                     b"dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    }
    for name, data in heads.items():
        write("httpguard", name, data)

    # config: the example, the Python project's file, and small broken ones.
    write("config", "config_example.toml", open(os.path.join(ROOT, "config_example.toml"), "rb").read())
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "config", "data", "*.toml"))):
        write("config", os.path.basename(path), open(path, "rb").read())
    for i, t in enumerate(['[comfy]\nport = "8188"\n', '[comfy]\nport = 99999999999\n', 'a = 1\na = 2\n',
                           '[server]\nhost = "0.0.0.0"\nport = 0\n[unknown]\nx = [1, [2, [3]]]\n',
                           '[node_mappings.sd15_txt2img]\nprompt = "6.text"\nseed = 3\n', '= \n[[x]]\n',
                           '[limits]\nmax_body_mb = -1\n', 'title = "\\uD800"\n']):
        write("config", "edge-%d.toml" % i, t)

    # workflow: the repository's workflows, the graphs ComfyUI was sent, with and without edits.
    graphs = []
    for path in sorted(glob.glob(os.path.join(ROOT, "workflows", "*.json"))):
        graphs.append((os.path.basename(path)[:-5], open(path, "rb").read()))
    seen = set()
    for scenario, r in captures():
        if r.get("dir") == "http_req" and r.get("path") == "/prompt" and isinstance(r.get("body_json"), dict):
            prompt = json.dumps(r["body_json"].get("prompt"), indent=2).encode()
            h = hashlib.sha1(prompt).hexdigest()
            if h not in seen:
                seen.add(h)
                graphs.append((scenario, prompt))
    edits = [{"prompt": "a red fox", "seed": 42},
             {"3.seed": 5, "6": {"text": "x"}, "3.cfg": 7.5, "__mappings": {"prompt": "6.text", "seed": "3"}},
             {"3.steps": 2.5, "4.ckpt_name": 1}, {"6.text": "a", "6": "b"}, {"Positive": "x", "3.model": ["4", 0]}]
    for name, graph in graphs:
        write("workflow", name + ".json", graph)
        for i, e in enumerate(edits):
            write("workflow", "%s-edit-%d" % (name, i), graph + SEP + json.dumps(e).encode())
    write("workflow", "ui-format.json", b'{"last_node_id": 9, "nodes": [{"id": 3, "type": "KSampler"}], "links": []}')
    write("workflow", "floats.json", b'{"1": {"class_type": "X", "inputs": {"a": 7.0, "b": 1e-3, "c": -0.0, '
                                     b'"d": 9007199254740993, "e": "7.0", "f": [1.5]}}}' + SEP + b'{"1.a": 2, "1.d": 1.5}')
    write("workflow", "not-object.json", b"[1,2,3]")

    total = sum(os.path.getsize(p) for p in glob.glob(os.path.join(OUT, "*", "*")))
    print("corpus: %d files, %d bytes" % (len(glob.glob(os.path.join(OUT, "*", "*"))), total))


if __name__ == "__main__":
    main()
