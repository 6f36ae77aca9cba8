#!/usr/bin/env python3
"""Regenerates the seed corpora in tests/fuzz/corpus/<target>/.

Two sources:
  * real MCP traffic: a scripted session (initialize, every list, tool calls
    with progress, sampling, elicitation and roots requests from the server,
    resources/read, prompts/get, completion/complete, errors, cancellation)
    against the npm servers the interop tests use (tests/interop/node_modules:
    server-everything, server-memory, server-filesystem). Every line in both
    directions becomes a seed. Needs node and `npm ci` in tests/interop; with
    --no-capture the traffic seeds already in the corpus are kept;
  * hostile cases written here: deep nesting, long strings, bad UTF-8,
    surrogate escapes, duplicate and escaped keys, 1e999, -0, huge integers,
    NUL bytes, CRLF and oversized lines, hostile configs and URI templates.

Usage: python3 tests/fuzz/make_corpus.py [--no-capture]
"""
import hashlib
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")
INTEROP = os.path.join(ROOT, "tests", "interop")
MODULES = os.path.join(INTEROP, "node_modules", "@modelcontextprotocol")
JSON_TARGETS = ["fuzz_envelope", "fuzz_id_rewriter", "fuzz_message"]
ALL_TARGETS = JSON_TARGETS + ["fuzz_line_splitter", "fuzz_config", "fuzz_uri_template",
                              "fuzz_sse"]
TRAFFIC_PREFIX = "traffic-"


def compact(message):
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------- capture

INIT = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18",
                   "capabilities": {"roots": {"listChanged": True}, "sampling": {},
                                    "elicitation": {}},
                   "clientInfo": {"name": "mcpbraid-fuzz-corpus", "version": "1.0.0"}}}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


def call(i, name, arguments, meta=None):
    params = {"name": name, "arguments": arguments}
    if meta:
        params["_meta"] = meta
    return {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": params}


def req(i, method, params=None):
    m = {"jsonrpc": "2.0", "id": i, "method": method}
    if params is not None:
        m["params"] = params
    return m


EVERYTHING = [
    INIT, INITIALIZED,
    req(1, "tools/list"), req(2, "resources/list"), req(3, "resources/templates/list"),
    req(4, "prompts/list"), req(5, "ping"),
    call(6, "echo", {"message": "hello \u00e9\u4e16\U0001F600 \"quoted\" \\ back\nslash"}),
    call(7, "get-sum", {"a": 1.5, "b": -2}),
    call(8, "get-annotated-message", {"messageType": "error", "includeImage": True}),
    call(9, "get-resource-links", {"count": 2}),
    call(10, "get-resource-reference", {"resourceType": "Text", "resourceId": 3}),
    call(11, "get-structured-content", {"location": "Chicago"}),
    call(12, "trigger-long-running-operation", {"duration": 1, "steps": 3},
         {"progressToken": "tok-12"}),
    3.0,
    call(13, "trigger-sampling-request", {"prompt": "hi", "maxTokens": 10}),
    call(14, "trigger-elicitation-request", {}),
    call(15, "get-roots-list", {}),
    call(16, "no-such-tool", {}),
    req(17, "resources/read", {"uri": "demo://resource/dynamic/text/1"}),
    req(18, "resources/read", {"uri": "demo://resource/dynamic/blob/2"}),
    req(19, "resources/read", {"uri": "demo://nope"}),
    req(20, "prompts/get", {"name": "args-prompt", "arguments": {"city": "Paris", "state": "IDF"}}),
    req(21, "completion/complete", {"ref": {"type": "ref/prompt", "name": "completable-prompt"},
                                    "argument": {"name": "department", "value": "E"}}),
    req(22, "completion/complete",
        {"ref": {"type": "ref/resource", "uri": "demo://resource/dynamic/text/{resourceId}"},
         "argument": {"name": "resourceId", "value": "1"}}),
    req(23, "logging/setLevel", {"level": "debug"}),
    req(24, "resources/subscribe", {"uri": "demo://resource/dynamic/text/1"}),
    call(25, "trigger-long-running-operation", {"duration": 5, "steps": 5}, {"progressToken": 25}),
    1.5,
    {"jsonrpc": "2.0", "method": "notifications/cancelled",
     "params": {"requestId": 25, "reason": "user cancelled"}},
    req(26, "nonexistent/method"),
    req(27, "tools/call", {"name": "echo"}),
    {"jsonrpc": "2.0", "method": "notifications/roots/list_changed"},
]

MEMORY = [
    INIT, INITIALIZED, req(1, "tools/list"),
    call(2, "create_entities", {"entities": [{"name": "Alice", "entityType": "person",
                                              "observations": ["likes tea"]}]}),
    call(3, "read_graph", {}),
]


def filesystem_script(root):
    return [
        INIT, INITIALIZED, req(1, "tools/list"),
        call(2, "list_directory", {"path": root}),
        call(3, "read_text_file", {"path": os.path.join(root, "a.txt")}),
        call(4, "read_text_file", {"path": "/nonexistent/outside.txt"}),
    ]


def answer(message):
    method = message.get("method")
    if method == "roots/list":
        return {"roots": [{"uri": "file:///tmp", "name": "tmp"}]}
    if method == "sampling/createMessage":
        return {"role": "assistant", "content": {"type": "text", "text": "sampled"},
                "model": "fake-model", "stopReason": "endTurn"}
    if method == "elicitation/create":
        return {"action": "accept", "content": {"name": "x"}}
    return {}


def capture(command, script, env=None):
    """Runs one scripted session; returns [(direction, line)] in order."""
    proc = subprocess.Popen(command, cwd=INTEROP, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env)
    lines = []

    def send(message):
        line = compact(message)
        lines.append(("c2s", line))
        proc.stdin.write((line + "\n").encode())
        proc.stdin.flush()

    def pump(seconds):
        end = time.time() + seconds
        while True:
            ready, _, _ = select.select([proc.stdout], [], [], max(0.0, end - time.time()))
            if not ready:
                return
            raw = proc.stdout.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\n")
            lines.append(("s2c", line))
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if "method" in message and "id" in message:
                send({"jsonrpc": "2.0", "id": message["id"], "result": answer(message)})

    for step in script:
        if isinstance(step, float):
            pump(step)
        else:
            send(step)
            pump(0.6)
    pump(1.5)
    proc.stdin.close()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
    return lines


def capture_all():
    node = shutil.which("node")
    if not node or not os.path.isdir(MODULES):
        sys.exit("make_corpus: needs node and tests/interop/node_modules (cd tests/interop && "
                 "npm ci), or --no-capture")
    sessions = {}
    sessions["everything"] = capture(
        [node, os.path.join(MODULES, "server-everything/dist/index.js"), "stdio"], EVERYTHING)
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, MEMORY_FILE_PATH=os.path.join(tmp, "memory.jsonl"))
        sessions["memory"] = capture(
            [node, os.path.join(MODULES, "server-memory/dist/index.js")], MEMORY, env)
        root = os.path.join(tmp, "root")
        os.mkdir(root)
        with open(os.path.join(root, "a.txt"), "w") as f:
            f.write("hello file\n")
        sessions["filesystem"] = capture(
            [node, os.path.join(MODULES, "server-filesystem/dist/index.js"), root],
            filesystem_script(root))
    return sessions


def describe(line):
    """A short file name for a traffic line: what the message is."""
    try:
        m = json.loads(line)
    except ValueError:
        return "unparsed"
    if not isinstance(m, dict):
        return "other"
    if "method" in m:
        kind = "request" if "id" in m else "notification"
        return m["method"].replace("/", "-") + "-" + kind
    if "error" in m:
        return "error-" + str(m["error"].get("code", "")).replace("-", "m")
    result = m.get("result")
    if isinstance(result, dict):
        for key in ("tools", "resources", "resourceTemplates", "prompts", "contents", "messages",
                    "completion", "roots", "model", "action", "content", "protocolVersion"):
            if key in result:
                return "result-" + key
        return "result-empty" if not result else "result"
    return "response"


# --------------------------------------------------------------- hostile

def hostile_json():
    big = "x" * 6000
    deep = lambda n, o="[", c="]": o * n + c * n
    cases = {
        "deep-array-129": '{"jsonrpc":"2.0","id":1,"method":"m","params":' + deep(128) + "}",
        "deep-array-128": '{"jsonrpc":"2.0","id":1,"method":"m","params":' + deep(127) + "}",
        "deep-object-200": '{"jsonrpc":"2.0","id":7,"result":' + '{"a":' * 199 + "1" + "}" * 199 + "}",
        "deep-unclosed-3000": '{"id":"deep","method":"x","params":' + "[" * 3000,
        "deep-in-string": '{"jsonrpc":"2.0","id":1,"method":"m","params":{"s":"' + "[{" * 300 + '"}}',
        "long-string": '{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"' + big + '"}]}}',
        "long-key": '{"jsonrpc":"2.0","' + "k" * 5000 + '":1,"id":3,"method":"ping"}',
        "id-after-big-params": '{"jsonrpc":"2.0","method":"tools/call","params":{"blob":"' + "y" * 9000 + '","nested":[[{"]":"}"}]]},"id":77}',
        "bad-utf8-overlong": b'{"jsonrpc":"2.0","id":1,"method":"\xc0\xaf"}',
        "bad-utf8-surrogate": b'{"jsonrpc":"2.0","id":1,"method":"\xed\xa0\x80"}',
        "bad-utf8-truncated": b'{"jsonrpc":"2.0","id":1,"method":"\xe4\xb8"}',
        "bad-utf8-above-10ffff": b'{"jsonrpc":"2.0","id":1,"result":"\xf4\x90\x80\x80"}',
        "bad-utf8-continuation": b'{"jsonrpc":"2.0","id":1,"result":"\x80\xbf"}',
        "good-utf8-4byte": '{"jsonrpc":"2.0","id":1,"result":{"t":"\U0010FFFF\U0001F600\u00e9"}}',
        "lone-high-surrogate": '{"jsonrpc":"2.0","id":1,"method":"m","params":{"s":"\\ud800"}}',
        "lone-low-surrogate": '{"jsonrpc":"2.0","id":"\\udc00","method":"m"}',
        "surrogate-pair": '{"jsonrpc":"2.0","id":"\\ud83d\\ude00","method":"m"}',
        "reversed-surrogates": '{"jsonrpc":"2.0","id":1,"result":"\\ude00\\ud83d"}',
        "duplicate-id": '{"jsonrpc":"2.0","id":1,"id":2,"result":{}}',
        "duplicate-method": '{"jsonrpc":"2.0","id":1,"method":"a","method":"tools/call"}',
        "duplicate-result-error": '{"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"x"}}',
        "escaped-key-id": '{"jsonrpc":"2.0","\\u0069d":5,"method":"ping"}',
        "escaped-key-and-id": '{"jsonrpc":"2.0","id":1,"\\u0069d":2,"result":{}}',
        "escaped-quote-key": '{"jsonrpc":"2.0","a\\"b":1,"id":1,"method":"m"}',
        "escaped-id-string": '{"jsonrpc":"2.0","id":"a\\"b\\\\c\\/\\u0000","result":{}}',
        "id-1e999": '{"jsonrpc":"2.0","id":1e999,"result":{}}',
        "result-1e999": '{"jsonrpc":"2.0","id":1,"result":1e999}',
        "id-minus-zero": '{"jsonrpc":"2.0","id":-0,"method":"ping"}',
        "id-float": '{"jsonrpc":"2.0","id":1.0,"method":"ping"}',
        "id-exp": '{"jsonrpc":"2.0","id":1E+2,"method":"ping"}',
        "id-18-digits": '{"jsonrpc":"2.0","id":999999999999999999,"result":{}}',
        "id-19-digits": '{"jsonrpc":"2.0","id":-9223372036854775808,"result":{}}',
        "id-uint64-max": '{"jsonrpc":"2.0","id":18446744073709551615,"result":{}}',
        "id-huge": '{"jsonrpc":"2.0","id":123456789012345678901234567890,"result":{}}',
        "id-leading-zero": '{"jsonrpc":"2.0","id":007,"result":{}}',
        "id-null": '{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}',
        "id-object": '{"jsonrpc":"2.0","id":{"a":1},"method":"m"}',
        "id-array": '{"jsonrpc":"2.0","id":[1],"result":{}}',
        "id-true": '{"jsonrpc":"2.0","id":true,"method":"m"}',
        "id-first": '{"id":42,"jsonrpc":"2.0","method":"ping"}',
        "id-last-spaced": ' \t{ "jsonrpc" : "2.0" , "method" : "ping" , "id" : 42 } \r\n',
        "no-jsonrpc": '{"id":1,"method":"ping"}',
        "jsonrpc-1": '{"jsonrpc":"1.0","id":1,"method":"ping"}',
        "method-number": '{"jsonrpc":"2.0","id":1,"method":5}',
        "params-string": '{"jsonrpc":"2.0","id":1,"method":"m","params":"x"}',
        "params-array": '{"jsonrpc":"2.0","id":1,"method":"m","params":[1,2]}',
        "response-both-missing": '{"jsonrpc":"2.0","id":1}',
        "error-code-string": '{"jsonrpc":"2.0","id":1,"error":{"code":"-32601","message":"x"}}',
        "error-code-float": '{"jsonrpc":"2.0","id":1,"error":{"code":1.5,"message":7}}',
        "error-not-object": '{"jsonrpc":"2.0","id":1,"error":"boom"}',
        "tools-not-array": '{"jsonrpc":"2.0","id":1,"result":{"tools":{"name":"x"},"nextCursor":5}}',
        "tools-bad-items": '{"jsonrpc":"2.0","id":1,"result":{"tools":[1,null,{"name":""},{"name":3},{"name":"t","inputSchema":[],"annotations":"x","execution":{"taskSupport":1}}]}}',
        "prompts-bad-items": '{"jsonrpc":"2.0","id":1,"result":{"prompts":[{"name":"p","arguments":{}}],"nextCursor":null}}',
        "resources-bad-items": '{"jsonrpc":"2.0","id":1,"result":{"resources":[{"uri":1}],"resourceTemplates":[{"uriTemplate":[]}]}}',
        "initialize-bad": '{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":2025,"capabilities":[],"serverInfo":"x","instructions":{}}}',
        "progress-bad-token": '{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1.5,"progress":1}}',
        "progress-no-params": '{"jsonrpc":"2.0","method":"notifications/progress"}',
        "cancelled-bad-id": '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":{}}}',
        "message-bad-level": '{"jsonrpc":"2.0","method":"notifications/message","params":{"level":3,"data":"x"}}',
        "server-request-bad-params": '{"jsonrpc":"2.0","id":"s1","method":"sampling/createMessage","params":[]}',
        "not-object-array": '[{"jsonrpc":"2.0","id":1,"method":"ping"}]',
        "not-object-string": '"{\\"jsonrpc\\":\\"2.0\\"}"',
        "not-object-number": "-0.0e-0",
        "empty-object": "{}",
        "empty": "",
        "bom": b'\xef\xbb\xbf{"jsonrpc":"2.0","id":1,"method":"ping"}',
        "nul-then-junk": b'{"jsonrpc":"2.0","id":1,"method":"ping"}\x00{"id":2',
        "nul-in-string": b'{"jsonrpc":"2.0","id":1,"method":"pi\x00ng"}',
        "control-in-string": b'{"jsonrpc":"2.0","id":1,"method":"a\x01\x1fb"}',
        "trailing-comma": '{"jsonrpc":"2.0","id":1,"method":"ping",}',
        "two-values": '{"jsonrpc":"2.0","id":1,"method":"ping"}{"id":2}',
        "truncated": '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ec',
        "truncated-in-id": '{"jsonrpc":"2.0","method":"x","id":12',
        "bad-escape": '{"jsonrpc":"2.0","id":1,"method":"a\\x"}',
        "short-unicode-escape": '{"jsonrpc":"2.0","id":1,"method":"\\u12"}',
        "literals": '{"jsonrpc":"2.0","id":1,"result":{"a":true,"b":false,"c":null,"d":[tru]}}',
        "numbers": '{"jsonrpc":"2.0","id":1,"result":[0,-0,1.5e-300,2E+308,1e-999,-1e999,0.0000001,123456789012345678901234567890]}',
        "bad-numbers": '{"jsonrpc":"2.0","id":1,"result":[01,1.,.5,-,+1,1e,0x10,NaN,Infinity]}',
        "comments": '{"jsonrpc":"2.0",/*c*/"id":1,"method":"ping"}//x',
        "whitespace-kinds": '{"jsonrpc":"2.0",\x0b"id":1,\x0c"method":"ping"}',
        "nbsp": '{"jsonrpc":"2.0",\u00a0"id":1,"method":"ping"}',
    }
    out = {}
    for name, text in cases.items():
        out["hostile-" + name] = text.encode("utf-8") if isinstance(text, str) else text
    return out


def splitter_seeds(traffic_lines):
    """Header (max_line selector, drain mask, 2 seed bytes) + a stream."""
    session = "\n".join(traffic_lines[:12]).encode() + b"\n"
    small = b'{"jsonrpc":"2.0","id":1,"method":"ping"}\n'
    seeds = {
        "session-64": b"\x00\x00\x01\x00" + session,
        "session-4096-crlf": b"\x06\x01\x02\x00" + session.replace(b"\n", b"\r\n"),
        "session-5000-nodrain": b"\x07\x03\x03\x00" + session,
        "small-lines-1": b"\x03\x00\x04\x00" + b"a\nbc\n\n \t\n\r\n" + small,
        "small-lines-16": b"\x04\x02\x05\x00" + small * 3 + b"  \n\t\t\r\n" + small.rstrip(b"\n"),
        "cr-mix-100": b"\x05\x00\x06\x00" + b"a\r\r\nb\rc\n\r\r\n" + b"x" * 99 + b"\r\n" + b"y" * 101 + b"\r\n",
        "oversized-blank": b"\x00\x01\x07\x00" + b" " * 200 + b"\n" + b"\t" * 70 + b"\r\n" + small,
        "oversized-then-line": b"\x00\x00\x08\x00" + b"{" + b"z" * 5000 + b"}\n" + small,
        "oversized-tail": b"\x06\x00\x09\x00" + small + b"q" * 6000,
        "oversized-tail-cr": b"\x00\x00\x0a\x00" + small + b"q" * 100 + b"\r",
        "tail-blank": b"\x00\x00\x0b\x00" + small + b"   \t",
        "tail-line": b"\x00\x00\x0c\x00" + small + small.rstrip(b"\n"),
        "nul-bytes": b"\x00\x00\x0d\x00" + b"a\x00b\n\x00\n" + small,
        "large-swap": b"\xf8\x00\x0e\x00" + b'{"jsonrpc":"2.0","id":1,"result":"' + b"w" * 60 + b"\n" + small,
        "large-oversized": b"\xf7\x01\x0f\x00" + b"v" * 100 + b"\n" + small,
        "large-oversized-crlf": b"\xf7\x00\x10\x00" + b"u" * 40 + b"\r\n" + small.replace(b"\n", b"\r\n"),
    }
    return seeds


def sse_seeds(traffic):
    """Header (max_event selector, end() rate, 2 seed bytes) + SSE streams.

    Server-to-client lines of server-everything framed as the TypeScript
    SDK's transports write them: HTTP+SSE (an endpoint event, then `event:
    message`) and Streamable HTTP (a priming event with id and retry, ids on
    messages, keepalive comments); then line-ending, BOM, id, retry and size
    cases."""
    messages = [line for name, line in traffic
                if name.startswith(TRAFFIC_PREFIX + "everything-s2c-") and len(line) < 1500][:10]
    messages = [m.encode() for m in messages] or [b'{"jsonrpc":"2.0","id":1,"result":{}}']

    def uuid(i):
        h = hashlib.sha1(b"sse-%d" % i).hexdigest()
        return ("%s-%s-4%s-a%s-%s" % (h[:8], h[8:12], h[13:16], h[17:20], h[20:32])).encode()

    endpoint = b"event: endpoint\ndata: /message?sessionId=" + uuid(0) + b"\n\n"
    sse = endpoint + b"".join(b"event: message\ndata: " + m + b"\n\n" for m in messages)
    streamable = b"id: " + uuid(1) + b"\nretry: 1000\ndata: \n\n"
    for i, m in enumerate(messages):
        streamable += b"event: message\nid: " + uuid(2 + i) + b"\ndata: " + m + b"\n\n"
        if i % 3 == 2:
            streamable += b": keepalive\n\n"
    small = b'event: message\ndata: {"jsonrpc":"2.0","id":1,"result":{}}\n\n'
    whatwg = (b"data: YHOO\ndata: +2\ndata: 10\n\n"
              b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\n"
              b"data:  third event\n\n"
              b"data\n\ndata\ndata\n\ndata:\n\ndata:test\n\ndata: test\n\n"
              b"event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent:\ndata: x\n\n"
              b"data:")
    seeds = {
        "sse-transport-session": b"\x07\x00\x01\x00" + sse,
        "sse-endpoint": b"\x07\x00\x02\x00" + endpoint,
        "streamable-session": b"\x06\x00\x03\x00" + streamable,
        "streamable-session-crlf": b"\x07\x01\x04\x00" + streamable.replace(b"\n", b"\r\n"),
        "streamable-session-cr": b"\x06\x00\x05\x00" + streamable.replace(b"\n", b"\r"),
        "whatwg-examples": b"\x05\x00\x06\x00" + whatwg,
        "bom-restarted": b"\x07\x03\x07\x00" + (b"\xef\xbb\xbf" + small) * 4,
        "bom-broken": b"\x07\x00\x08\x00" + b"\xef\xbb" + small + b"\xef\xbb\xbf\xef\xbb\xbf" + small,
        "comments-keepalive": b"\x04\x00\x09\x00" + b": keepalive\n\n:\n: \r\n:data: x\n\n" + small
                              + b":comment\rdata: after\r\r",
        "retry-id": b"\x07\x00\x0a\x00" + b"retry: 3000\nretry: 30a0\nretry:\nretry: -1\n"
                    b"retry: 99999999999999999999999\nretry: 9223372036854775807\n"
                    b"id: 5\ndata: a\n\nid: 6\x00x\ndata: b\n\nid:\ndata: c\n\nid: 7\n\ndata: d\n\n",
        "mixed-endings": b"\x03\x00\x0b\x00" + b"data: a\r\n\r\ndata: b\r\rdata: c\n\r\ndata: d\n\r\r\n",
        "oversized-data": b"\x03\x00\x0c\x00" + b"data: 0123456789abcdef\n\ndata: 0123456789abcdefg\n\n"
                          b"data: 01234567\ndata: 01234567\n\n" + small,
        "overlong-lines": b"\x00\x00\x0d\x00" + b":" + b"c" * 1100 + b"\nid: " + b"i" * 1100
                          + b"\ndata\n\nevent: " + b"e" * 1030 + b"\r\n\r\n" + b"x" * 1100
                          + b"\ndata\n\ndata: " + b"d" * 1100 + b"\n\ndata\n\n",
        "end-mid-event": b"\x07\x02\x0e\x00" + b"id: 1\nevent: a\ndata: one\n\nid: 2\nevent: b\ndata: two"
                         + b"\r" + b"\ndata: three\n\n" * 6,
    }
    return seeds


def config_seeds():
    with open(os.path.join(ROOT, "examples", "mcpbraid.json"), "rb") as f:
        example = f.read()
    full = {
        "mcpServers": {
            "everything": {"command": "node", "args": ["dist/index.js", "stdio"], "cwd": "../x",
                           "env": {"A": "${HOME}", "B": "${UNSET:-fallback}", "C": "${EMPTY:-d}"},
                           "type": "stdio", "disabled": False,
                           "failsafe": {"timeout": "30s", "max_timeout": "10m", "max_in_flight": 64,
                                        "retry": {"max_attempts": 3, "initial_backoff": "250ms",
                                                  "max_backoff": "2s"},
                                        "circuit_breaker": {"enabled": True, "failure_threshold": 5,
                                                            "success_threshold": 2,
                                                            "reset_timeout": "30s",
                                                            "half_open_max_requests": 1},
                                        "health": {"unhealthy_after": 3}},
                           "restart": {"initial_backoff": "1s", "max_backoff": "30s",
                                       "max_restarts": 5, "window": "1h"}},
            "memory": {"command": "${LONG}", "disabled": True},
        },
        "separator": "__", "initialize_timeout": 5000, "gateway_tools": True, "busy_poll_us": 50,
        "max_line": "64MiB", "max_json_depth": 128, "max_output_queue": "16MiB",
        "failsafe": {"timeout": 60000}, "restart": {"max_restarts": 0},
    }
    seeds = {
        "example": example,
        "full": json.dumps(full, indent=2).encode(),
        "minimal": b'{"mcpServers":{}}',
        "sizes-bytes": b'{"mcpServers":{"a":{"command":"x"}},"max_line":1024,"max_output_queue":65536,"max_json_depth":8}',
        "sizes-units": b'{"mcpServers":{},"max_line":"512KiB","max_output_queue":"1GB","separator":"-."}',
        "size-overflow": b'{"mcpServers":{},"max_line":"17179869185GiB","max_output_queue":"999999999999GiB"}',
        "size-bad": b'{"mcpServers":{},"max_line":"64 MiB","max_output_queue":-1,"max_json_depth":1025}',
        "duration-big": b'{"mcpServers":{},"initialize_timeout":"999999999999h","failsafe":{"timeout":"1h","max_timeout":"999999999999h"}}',
        "duration-bad": b'{"mcpServers":{},"initialize_timeout":"0s","restart":{"window":"1d"}}',
        "env-unterminated": b'{"mcpServers":{"a":{"command":"${HOME","args":["${"]}}}',
        "env-nested": b'{"mcpServers":{"a":{"command":"${NESTED}","args":["${:-x}","${}","$${HOME}"],"env":{"K":"${ABC:-}"}}}}',
        "bad-names": b'{"mcpServers":{"a__b":{"command":"x"},"a_":{"command":"x"},"":{"command":"x"},"sp ace":{"command":"x"}}}',
        "separator-bad": b'{"mcpServers":{},"separator":"::"}',
        "types-wrong": b'{"mcpServers":{"a":{"command":1,"args":"x","env":[],"cwd":false,"disabled":"no","type":"sse"}}}',
        "unknown-keys": b'{"mcpServers":{"a":{"command":"x","url":"http://x"}},"extra":1,"failsafe":{"nope":1}}',
        "duplicate-keys": b'{"mcpServers":{"a":{"command":"x"},"a":{"command":"y"}},"separator":"_","separator":"-"}',
        "not-object": b'["mcpServers"]',
        "deep": b'{"mcpServers":{},"x":' + b"[" * 1100 + b"]" * 1100 + b"}",
        "nul-then-junk": b'{"mcpServers":{}}\x00 not json',
        "bom": b'\xef\xbb\xbf{"mcpServers":{}}',
        "bad-utf8": b'{"mcpServers":{"a":{"command":"\xff\xfe"}}}',
        "int-ranges": b'{"mcpServers":{},"busy_poll_us":10001,"failsafe":{"max_in_flight":18446744073709551615,"retry":{"max_attempts":-9223372036854775808}}}',
    }
    return seeds


def template_seeds(templates, uris):
    pairs = [
        # RFC 6570 examples (levels 1-3)
        ("{var}", "value"), ("{hello}", "Hello%20World%21"),
        ("{+var}", "value"), ("{+path}/here", "/foo/bar/here"), ("here?ref={+path}", "here?ref=/foo/bar"),
        ("X{#var}", "X#value"), ("X{#hello}", "X#Hello%20World!"),
        ("map?{x,y}", "map?1024,768"), ("{x,hello,y}", "1024,Hello%20World%21,768"),
        ("{+x,hello,y}", "1024,Hello%20World!,768"), ("{+path,x}/here", "/foo/bar,1024/here"),
        ("{#x,hello,y}", "#1024,Hello%20World!,768"), ("{#path,x}/here", "#/foo/bar,1024/here"),
        ("X{.var}", "X.value"), ("X{.x,y}", "X.1024.768"),
        ("{/var}", "/value"), ("{/var,x}/here", "/value/1024/here"),
        ("{;x,y}", ";x=1024;y=768"),
        ("{?x,y}", "?x=1024&y=768"), ("{?x,y,empty}", "?x=1024&y=768&empty="),
        ("?fixed=yes{&x}", "?fixed=yes&x=1024"), ("{&x,y,empty}", "&x=1024&y=768&empty="),
        ("{var:3}", "val"), ("{list*}", "red,green,blue"), ("{/list*,path:4}", "/red/green/blue/%2Ffoo"),
        ("http://example.com/~{username}/", "http://example.com/~fred/"),
        ("http://example.com/dictionary/{term:1}/{term}", "http://example.com/dictionary/c/cat"),
        ("http://www.example.com/foo{?query,number}", "http://www.example.com/foo?query=mycelium&number=100"),
        # MCP shapes
        ("file:///{path}", "file:///etc/hosts"), ("file:///{+path}", "file:///home/u/a%20b.txt"),
        ("github://repos/{owner}/{repo}/issues{?state,page}", "github://repos/o/r/issues?state=open&page=2"),
        ("db://{table}/{id}.json", "db://users/42.json"),
        ("demo://x{/a,b,c}", "demo://x/1/2/3"),
        # worst cases: adjacent expressions, many candidate splits
        ("bt://{a}{b}{c}{d}{e}{f}{g}{h}{i}{j}/end", "bt://xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/enx"),
        ("bt://{+a}{+b}{+c}{+d}{+e}{+f}{+g}{+h}/end", "bt://" + "x/" * 40 + "enx"),
        ("{#a}{#b}{#c}{#d}{#e}{#f}{#g}{#h}", "#" + "#x" * 30 + "!"),
        ("{/a}{/b}{/c}{/d}{/e}{/f}{/g}{/h}/z", "/x" * 40 + "/y"),
        ("{?a}{&b}{&c}{&d}{&e}{&f}{&g}", "?a=1" + "&b=2" * 30 + "#"),
        ("{.a}{.b}{.c}{.d}{.e}{.f}{.g}{.h}.z", ".x" * 50 + ".y"),
        ("x" * 1000 + "{a}", "x" * 1000 + "y"),
        # malformed
        ("{", "anything"), ("}", "}"), ("{}", ""), ("{a", "a"), ("a}b{", "a}b{"), ("{{a}}", "{x}"),
        ("{+}", "x"), ("{a,}", "x,"), ("{,}", ","), ("{?}", "?"), ("", ""), ("plain", "plain"),
        ("{a}\n", "x\ny"),
    ]
    for t in templates:
        for u in uris[:3]:
            pairs.append((t, u))
        pairs.append((t, t))
    seeds = {}
    for i, (t, u) in enumerate(pairs):
        seeds["tpl-%03d" % i] = (t + "\n" + u).encode()
    return seeds


# --------------------------------------------------------------- main

def write(target, name, data):
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def main():
    no_capture = "--no-capture" in sys.argv[1:]
    traffic = []  # (name, line)
    if no_capture:
        directory = os.path.join(CORPUS, "fuzz_message")
        for name in sorted(os.listdir(directory)):
            if name.startswith(TRAFFIC_PREFIX):
                with open(os.path.join(directory, name), "rb") as f:
                    traffic.append((name, f.read().decode("utf-8", "replace")))
    else:
        seen = set()
        for server, lines in capture_all().items():
            for direction, line in lines:
                digest = hashlib.sha1(line.encode()).hexdigest()
                if digest in seen:
                    continue
                seen.add(digest)
                name = "%s%s-%s-%s-%s" % (TRAFFIC_PREFIX, server, direction, describe(line),
                                         digest[:8])
                traffic.append((name, line))
    if not traffic:
        sys.exit("make_corpus: no traffic captured")
    traffic.sort()  # the same seeds from a capture and from --no-capture

    for target in ALL_TARGETS:
        shutil.rmtree(os.path.join(CORPUS, target), ignore_errors=True)

    lines = [line for _, line in traffic]
    for target in JSON_TARGETS:
        for name, line in traffic:
            write(target, name, line.encode())
        for name, data in hostile_json().items():
            write(target, name, data)
    for name, data in splitter_seeds(lines).items():
        write("fuzz_line_splitter", name, data)
    for name, data in config_seeds().items():
        write("fuzz_config", name, data)
    for name, data in sse_seeds(traffic).items():
        write("fuzz_sse", name, data)

    templates, uris = [], []
    for line in lines:
        try:
            m = json.loads(line)
        except ValueError:
            continue
        result = m.get("result") if isinstance(m, dict) else None
        if isinstance(result, dict):
            for item in result.get("resourceTemplates", []):
                templates.append(item.get("uriTemplate", ""))
            for item in result.get("resources", []):
                uris.append(item.get("uri", ""))
            for item in result.get("contents", []):
                uris.append(item.get("uri", ""))
    uris = sorted(set(u for u in uris if u)) or ["demo://resource/dynamic/text/1"]
    dynamic = [u for u in uris if "/dynamic/" in u]
    for name, data in template_seeds(sorted(set(templates)), dynamic + uris[:2]).items():
        write("fuzz_uri_template", name, data)

    total = 0
    for target in ALL_TARGETS:
        directory = os.path.join(CORPUS, target)
        files = os.listdir(directory)
        size = sum(os.path.getsize(os.path.join(directory, f)) for f in files)
        total += size
        print("%-20s %4d files %8d bytes" % (target, len(files), size))
    print("%-20s %19d bytes" % ("total", total))


if __name__ == "__main__":
    main()
