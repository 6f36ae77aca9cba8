#!/usr/bin/env python3
"""Black-box property test of the real binary (Debian's python3-hypothesis).

Hypothesis generates client lines and backend lines -- valid JSON of wrong
shapes, deep nesting, lines over max_line, bad UTF-8, unknown and duplicate
ids, stray answers and notifications -- and sends them through one running
mcpbraid in front of two backends:

  r     tests/fixtures/replay_backend.py: its `emit` tool writes the raw lines
        the test passes (`$ID` = the gateway's request id), `lines_b64` raw
        bytes (bad UTF-8), `then: "none"` leaves the request unanswered;
  good  the C++ fixture, which must keep answering whatever r does.

Invariants, checked after every example (a sync ping, good__echo, r__echo and
gateway_health follow each one):
  - the gateway is still running (a gateway killed by an example is a failure;
    the next example starts a new one);
  - every client request got exactly one answer (a request whose id is
    reused while in flight: as many answers as requests with that id); bad
    lines get one error with id null or, when readable, their own id;
    notifications and stray answers get none; no answer carries an id the
    client never sent;
  - stdout holds JSON-RPC lines only, in valid UTF-8: every result is an
    object, every error {code: int, message: str}, no message carries
    "params": null, a notification or request relayed to the client has object
    params or none;
  - good keeps answering, echoing exactly what it was sent;
  - the health JSON's mcpbraid.internal_errors stays 0.
At the end of each test method: stdin EOF -> exit 0, no child left.

The budget is fixed (derandomize=True, no example database), so a CI run is
reproducible; the whole file runs in about 45 s on two cores when it passes.
After a test's first failure hypothesis shrinks for at most SHRINK_BUDGET
seconds, then prints the smallest failing example found ("Falsifying example").
"""

import base64
import itertools
import json
import os
import sys
import time
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import mcptest  # noqa: E402
from mcptest import fixture, id_key, tool_text  # noqa: E402

try:
    import hypothesis  # noqa: F401
except ImportError:
    # A Python of its own (pyenv, venv) does not see Debian's python3-hypothesis.
    for d in ("/usr/lib/python3/dist-packages",):
        if os.path.isdir(d) and d not in sys.path:
            sys.path.append(d)
    try:
        import hypothesis  # noqa: F401
    except ImportError:
        sys.stderr.write("test_property.py needs hypothesis: apt-get install python3-hypothesis "
                         "(.ci/setup.sh installs it)\n")
        raise
from hypothesis import HealthCheck, given, reject, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

REPLAY = os.path.join(HERE, "..", "fixtures", "replay_backend.py")
MAX_LINE = 1 << 20        # max_line "1MiB" in the config below
MAX_DEPTH = 128           # max_json_depth, the default
TIMEOUT_MS = 1000         # failsafe.timeout: an unanswered request ends by then
WAIT = 8.0                # how long an answer may take (TIMEOUT_MS + slack)
SHRINK_BUDGET = 45.0      # seconds of shrinking per test after its first failure (the ctest
                          # timeout is 300 s for the file); then the smallest so far is shown

SETTINGS = dict(deadline=None, derandomize=True, database=None, print_blob=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])


def dumps(value):
    return json.dumps(value, separators=(",", ":"))


def nested(k):
    """k nested arrays: depth k."""
    return "[" * k + "]" * k


def parses(text):
    """True if `text` is strict JSON (no NaN/Infinity)."""
    def no_constant(_):
        raise ValueError("constant")
    try:
        json.loads(text, parse_constant=no_constant)
        return True
    except (ValueError, RecursionError):
        return False


def invalid_utf8(b):
    try:
        b.decode("utf-8")
        return False
    except UnicodeDecodeError:
        return True


# --------------------------------------------------------------------------- strategies

# Text that good__echo must echo exactly (any Unicode scalar value).
echo_text = st.text(max_size=30)

json_scalar = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
               | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8))
RESERVED_KEYS = {"id", "method", "jsonrpc", "result", "error", "params"}
json_value = st.recursive(
    json_scalar,
    lambda c: st.lists(c, max_size=4) | st.dictionaries(
        st.text(max_size=6).filter(lambda k: k not in RESERVED_KEYS), c, max_size=4),
    max_leaves=12)

BAD_UTF8 = [b"\xff", b"\xfe\xff", b"\xc0\x80", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80",
            b"\xed\xbf\xbf", b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80", b"\x80", b"a\xbfz"]
bad_utf8 = st.sampled_from(BAD_UTF8) | st.binary(min_size=1, max_size=8).filter(
    lambda b: invalid_utf8(b) and not any(c in b for c in b'\n\r"\\'))

# Random text that is not JSON (and not a blank line).
not_json_text = st.one_of(
    st.sampled_from(['{not json', '{"jsonrpc":"2.0","id":1,"method":"ping"', "nul", "[1,2",
                     '{"a":}', "'single'", "{\"jsonrpc\":\"2.0\",}", "NaN", "Infinity",
                     '{"jsonrpc":"2.0","method":"ping"}}', "\x00", "]"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",),
                                   blacklist_characters="\n\r\ufeff"),
            min_size=1, max_size=40)
    .filter(lambda s: not s[0].isspace() and not parses(s)))

REAL_METHODS = ["ping", "initialize", "tools/list", "tools/call", "resources/list",
                "resources/read", "resources/templates/list", "resources/subscribe",
                "resources/unsubscribe", "prompts/list", "prompts/get", "completion/complete",
                "logging/setLevel", "gateway_health", "gateway_list_servers",
                "notifications/initialized", "notifications/cancelled",
                "sampling/createMessage", "roots/list", "elicitation/create"]
# (Not r's tools: replay_backend.py itself breaks on arguments that are not an object.)
CALL_NAMES = ["good__echo", "good__add", "good__fail", "nosuch__tool", "good",
              "", "__", "gateway_health"]
call_params = st.fixed_dictionaries(
    {}, optional={"name": st.sampled_from(CALL_NAMES) | json_scalar,
                  "arguments": json_value, "_meta": json_value})

# Client lines.  Ids are not generated: the runner gives each line a fresh one.
client_line = st.one_of(
    # Proper requests: exactly one answer, checked.
    st.tuples(st.just("ping")),
    st.tuples(st.just("int_ping")),
    st.tuples(st.just("special_id"), st.sampled_from(
        [0, -1, 2**31, 2**53 + 1, 2**63 - 1, -2**63, 2**63, 2**64 - 1, "", "\u00e9\U0001F600",
         '"\\\n\t\u0000', ("x", 1000)]) | st.text(max_size=12)),
    st.tuples(st.just("tools_list")),
    st.tuples(st.just("echo"), echo_text),
    st.tuples(st.just("r_echo"), st.dictionaries(st.text(max_size=5), json_scalar, max_size=3)),
    st.tuples(st.just("blob"), st.sampled_from([0, 17, 4096, MAX_LINE - 300, MAX_LINE + 100,
                                                3 * MAX_LINE])),
    st.tuples(st.just("unknown_method"), st.text(min_size=1, max_size=12).filter(
        lambda s: s not in REAL_METHODS) | st.sampled_from([("m", 100000), ("tools/", 3000)])),
    # Requests with odd methods / params: one answer, result or error.
    st.tuples(st.just("odd_request"), st.sampled_from(REAL_METHODS),
              st.none() | json_value),
    st.tuples(st.just("odd_call"), call_params),
    # Garbage: one error, id null (or the line's own id when it has one).
    st.tuples(st.just("not_json"), not_json_text),
    st.tuples(st.just("non_object"), json_value.filter(lambda v: not isinstance(v, dict))),
    st.tuples(st.just("object"), st.dictionaries(
        st.text(max_size=6).filter(lambda k: k not in RESERVED_KEYS), json_value, max_size=4)),
    st.tuples(st.just("bad_envelope"), st.sampled_from(
        ["no_jsonrpc", "jsonrpc_1.0", "jsonrpc_num", "method_int", "method_null", "method_list",
         "method_obj", "id_obj", "id_list", "id_bool", "id_float", "id_null", "id_2^64",
         "id_1e3", "no_method", "empty"])),
    # Duplicate keys: one answer, to one of the ids (or null).
    st.tuples(st.just("dup_key"), st.sampled_from(["id", "method", "jsonrpc", "params"])),
    st.tuples(st.just("deep"),
              st.sampled_from(["ping", "ping_id_last", "echo", "unclosed", "bare",
                               "bare_unclosed", "objects"]),
              st.integers(1, 120) | st.integers(MAX_DEPTH - 4, MAX_DEPTH + 3)
              | st.integers(MAX_DEPTH + 10, 3000) | st.sampled_from([20000, 200000])),
    st.tuples(st.just("oversized"), st.sampled_from(["ping", "ping_id_late", "not_json"]),
              st.sampled_from([1, 100, 5000, MAX_LINE])),
    st.tuples(st.just("near_limit"), st.sampled_from([2000, 300])),
    st.tuples(st.just("bad_utf8"), st.sampled_from(["ping_param", "echo_text", "method",
                                                     "key", "raw"]), bad_utf8),
    # No answer.
    st.tuples(st.just("notification"),
              st.sampled_from(["notifications/initialized", "notifications/cancelled",
                               "notifications/progress", "notifications/roots/list_changed",
                               "notifications/whatever", "ping", "tools/list", "x", ""]),
              st.sampled_from(["omit", "null"]) | json_value),
    st.tuples(st.just("cancel_unknown"), st.sampled_from(["string", "int", "object", "none"]),
              st.sampled_from(["omit", "text", 42])),
    st.tuples(st.just("stray_response"), st.sampled_from(
        ["result", "result_str", "result_null", "error", "int_id", "error_str", "both",
         "null_id_error"])),
    st.tuples(st.just("blank"), st.sampled_from(["", " ", "\t", " \t ", "\r"])),
    # The same id twice, the first one slow.
    st.tuples(st.just("duplicate"), st.sampled_from(["ping", "echo", "r_echo", "sleep"]),
              st.integers(50, 300)),
)

# Backend lines, written by r__emit; "$ID" is the gateway's id of the emit request.
ANSWER = '{"jsonrpc":"2.0","id":%s,%s}'
RESULT_SHAPES = ['"str"', "[]", "null", "42", "true", "{}", '{"content":"x"}',
                 '{"content":[{"type":"text","text":"ok"}]}', '{"isError":true}']
ERROR_SHAPES = ['"boom"', '{"message":"x"}', '{"code":"1","message":"x"}', '{"code":1}',
                '{"code":1.5,"message":"x"}', '{"code":-32000,"message":"m","data":[1]}',
                "null", "[]", '{"code":1,"message":7}']
WRONG_IDS = ['"$ID"', "$ID.0", "-$ID", "-1", "0", "999999", "18446744073709551616", "1e400",
             "null", '{"a":$ID}', "[$ID]", "true", '"x"', "1", "2", "3", "5", "8", "13"]
NOTIFY_METHODS = ["notifications/progress", "notifications/message",
                  "notifications/tools/list_changed", "notifications/resources/updated",
                  "notifications/resources/list_changed", "notifications/prompts/list_changed",
                  "notifications/cancelled", "notifications/whatever", "x/y", ""]
NOTIFY_PARAMS = [None, "null", '"x"', "[]", "42", "{}", '{"level":"info"}',
                 '{"level":7,"data":"x"}', '{"data":"no level"}',
                 '{"progressToken":{"a":1},"progress":1}', '{"progress":"x"}',
                 '{"progressToken":"t","progress":1,"total":2}', '{"uri":5}',
                 '{"requestId":$ID}', '{"requestId":$ID,"reason":"x"}']
SERVER_REQUESTS = ["sampling/createMessage", "roots/list", "elicitation/create", "ping",
                   "unknown/method", "tools/list"]
SERVER_REQUEST_IDS = ['"srv-1"', "77", "$ID", '{"o":1}', "1.5", "null", "true"]

backend_line = st.one_of(
    st.tuples(st.just("result"), st.sampled_from(RESULT_SHAPES)),
    st.tuples(st.just("error"), st.sampled_from(ERROR_SHAPES)),
    st.tuples(st.just("envelope"), st.sampled_from(["both", "neither", "no_jsonrpc",
                                                    "jsonrpc_1.0", "method_and_result",
                                                    "dup_id", "dup_result"])),
    st.tuples(st.just("wrong_id"), st.sampled_from(WRONG_IDS), st.sampled_from(RESULT_SHAPES)),
    st.tuples(st.just("proper"),),
    st.tuples(st.just("deep_answer"), st.sampled_from(["closed", "unclosed", "id_last"]),
              st.integers(1, 100) | st.integers(MAX_DEPTH - 3, MAX_DEPTH + 3)
              | st.integers(MAX_DEPTH + 10, 2000) | st.just(100000)),
    st.tuples(st.just("big_answer"), st.sampled_from([1000, 100000, 400000])),
    st.tuples(st.just("notification"), st.sampled_from(NOTIFY_METHODS),
              st.sampled_from(NOTIFY_PARAMS)),
    st.tuples(st.just("server_request"), st.sampled_from(SERVER_REQUESTS),
              st.sampled_from(NOTIFY_PARAMS), st.sampled_from(SERVER_REQUEST_IDS)),
    st.tuples(st.just("garbage"), not_json_text),
    st.tuples(st.just("value"), json_value.map(dumps)),
    st.tuples(st.just("blank"), st.sampled_from(["", "  ", "\r"])),
)
backend_b64 = st.one_of(
    st.tuples(st.just("utf8_notify"), bad_utf8),
    st.tuples(st.just("utf8_answer"), st.sampled_from([1, 2, 3, 4, 5, 8, 13]), bad_utf8),
    st.tuples(st.just("utf8_raw"), bad_utf8),
    st.tuples(st.just("utf8_key"), bad_utf8),
)

emit_call = st.tuples(st.just("emit"), st.lists(backend_line, min_size=1, max_size=6),
                      st.lists(backend_b64, max_size=2), st.sampled_from(["answer", "none"]),
                      st.sampled_from([1, 1, 1, 2, 3, 20]))
backend_call = st.one_of(
    emit_call, emit_call, emit_call,
    st.tuples(st.just("good_echo"), echo_text),
    st.tuples(st.just("r_sleep"), st.integers(0, 200)),
    st.tuples(st.just("blob"), st.sampled_from([10, 5000, MAX_LINE - 300, MAX_LINE + 100])),
)


def build_backend_line(t):
    kind = t[0]
    if kind == "result":
        return ANSWER % ("$ID", '"result":' + t[1])
    if kind == "error":
        return ANSWER % ("$ID", '"error":' + t[1])
    if kind == "envelope":
        return {
            "both": '{"jsonrpc":"2.0","id":$ID,"result":{},"error":{"code":1,"message":"x"}}',
            "neither": '{"jsonrpc":"2.0","id":$ID}',
            "no_jsonrpc": '{"id":$ID,"result":{}}',
            "jsonrpc_1.0": '{"jsonrpc":"1.0","id":$ID,"result":{}}',
            "method_and_result": '{"jsonrpc":"2.0","id":$ID,"method":"ping","result":{}}',
            "dup_id": '{"jsonrpc":"2.0","id":999999,"id":$ID,"result":{}}',
            "dup_result": '{"jsonrpc":"2.0","id":$ID,"result":{},"result":"str"}',
        }[t[1]]
    if kind == "wrong_id":
        return ANSWER % (t[1], '"result":' + t[2])
    if kind == "proper":
        return ANSWER % ("$ID", '"result":{"content":[{"type":"text","text":"proper"}]}')
    if kind == "deep_answer":
        form, k = t[1], t[2]
        if form == "closed":
            return ANSWER % ("$ID", '"result":{"content":%s}' % nested(k))
        if form == "unclosed":
            return '{"jsonrpc":"2.0","id":$ID,"result":{"content":' + "[" * k
        return '{"jsonrpc":"2.0","result":{"content":%s},"id":$ID}' % nested(k)
    if kind == "big_answer":
        return ANSWER % ("$ID", '"result":{"content":[{"type":"text","text":"%s"}]}'
                         % ("y" * t[1]))
    if kind == "notification":
        params = "" if t[2] is None else ',"params":' + t[2]
        return '{"jsonrpc":"2.0","method":%s%s}' % (dumps(t[1]), params)
    if kind == "server_request":
        params = "" if t[2] is None else ',"params":' + t[2]
        return '{"jsonrpc":"2.0","id":%s,"method":%s%s}' % (t[3], dumps(t[1]), params)
    if kind in ("garbage", "value", "blank"):
        return t[1]
    raise AssertionError(kind)


def build_backend_b64(t):
    kind = t[0]
    if kind == "utf8_notify":
        raw = (b'{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info",'
               b'"data":"' + t[1] + b'"}}')
    elif kind == "utf8_answer":
        raw = (b'{"jsonrpc":"2.0","id":' + str(t[1]).encode() +
               b',"result":{"content":[{"type":"text","text":"' + t[2] + b'"}]}}')
    elif kind == "utf8_raw":
        raw = t[1]
    else:
        raw = b'{"jsonrpc":"2.0","method":"notifications/message","params":{"' + t[1] + b'":1}}'
    return base64.b64encode(raw).decode()


# --------------------------------------------------------------------------- expectations


class Expect:
    """What one client line may get back.

    id:         the line's own id (None: it has none)
    lo, hi:     how many answers with that id
    or_null:    an answer may come with id null instead of the line's own id
    error:      an answer must be an error (or, for tools/call, an isError result)
    check:      f(msg) -> problem or None, for answers with the own id
    alt_ids:    other ids an answer may carry instead (a line with two "id" members)
    """

    def __init__(self, desc, id=None, lo=1, hi=1, or_null=False, error=False, check=None,
                 alt_ids=()):
        self.desc, self.id, self.lo, self.hi = desc, id, lo, hi
        self.or_null, self.error, self.check = or_null, error, check
        # Answers with any of these ids count as answers to this line.
        self.keys = [id_key(i) for i in ([id] if id is not None else []) + list(alt_ids)]


def is_error_answer(msg):
    if "error" in msg:
        return True
    res = msg.get("result")
    return isinstance(res, dict) and res.get("isError") is True


def expect_result(predicate, what):
    def check(msg):
        if "result" not in msg:
            return "expected a result (%s), got %s" % (what, dumps(msg)[:300])
        if not predicate(msg["result"]):
            return "wrong result (%s): %s" % (what, dumps(msg)[:300])
        return None
    return check


def echo_check(text):
    return expect_result(lambda r: tool_text(r) == text and not r.get("isError"),
                         "good__echo of %r" % text[:50])


def blob_check(n):
    if n >= MAX_LINE:
        return expect_result(lambda r: r.get("isError") is True and "bad answer" in tool_text(r),
                             "isError for an answer over max_line")
    return expect_result(lambda r: tool_text(r) == "x" * n, "a blob of %d bytes" % n)


def call(name, arguments):
    return {"name": name, "arguments": arguments}


# --------------------------------------------------------------------------- the test case


class PropMux(mcptest.Mux):
    """A Mux whose stdout reader survives a line nested deeper than Python's json
    module can parse: the line is recorded as not JSON-RPC instead of killing the
    reader thread (which would leave every later answer unread)."""

    def _on_line(self, line):
        try:
            super()._on_line(line)
        except RecursionError:
            with self.cond:
                self.lines.append(line)
                self.bad_lines.append((line[:300], "nested too deep to parse"))
                self.cond.notify_all()



class PropertyTest(mcptest.MuxTestCase):

    def setUp(self):
        super().setUp()
        self.gw = None
        self.ids = itertools.count(1)
        self.sent_keys = set()     # every id the client sent
        self.examples = 0
        self.replies = 0
        self.example_keys = set()  # the ids used by the current example
        # With r__emit running beside them, r's other calls may be answered by an emitted
        # wrong-id line: then only their count is checked, not their content.
        self.relaxed = False
        self.first_failure = None  # monotonic time of this test's first failing example
        self.failed = set()        # repr of every failing example

    # ----------------------------------------------------------- the gateway

    def config(self):
        replay = {"command": sys.executable, "args": [REPLAY],
                  "failsafe": {"timeout": "%dms" % TIMEOUT_MS, "retry": {"max_attempts": 1},
                               "circuit_breaker": {"enabled": False}}}
        return mcptest.config_doc({"r": replay, "good": fixture("good")},
                                  failsafe={"timeout": "%dms" % TIMEOUT_MS},
                                  max_line="1MiB")

    def gateway(self):
        """The running gateway, started (or restarted after a failed example) on demand."""
        if self.gw is None or not self.gw.running():
            if self.gw is not None:
                self.gw.close_stdin()
            self.gw = PropMux(config=self.config(), log_level="info",
                              args=["--no-control-socket"])
            self._muxes.append(self.gw)   # checked and cleaned up by MuxTestCase.tearDown
            self.gw.initialize(capabilities={"sampling": {}, "roots": {"listChanged": True},
                                             "elicitation": {}})
        return self.gw

    def fresh(self, prefix):
        value = "%s-%d" % (prefix, next(self.ids))
        self.sent_keys.add(id_key(value))
        self.example_keys.add(id_key(value))
        return value

    def fresh_int(self):
        value = 10**12 + next(self.ids)
        self.sent_keys.add(id_key(value))
        self.example_keys.add(id_key(value))
        return value

    # ----------------------------------------------------------- one client line

    def client_line(self, t):
        """(bytes to send, [Expect]) for a client-line template."""
        kind = t[0]

        def req(id, method, params=None, id_last=False):
            msg = {"jsonrpc": "2.0"}
            if not id_last:
                msg["id"] = id
            msg["method"] = method
            if params is not None:
                msg["params"] = params
            if id_last:
                msg["id"] = id
            return dumps(msg)

        if kind == "ping":
            i = self.fresh("c")
            return req(i, "ping"), [Expect("ping", i, check=expect_result(lambda r: r == {}, "{}"))]
        if kind == "int_ping":
            i = self.fresh_int()
            return req(i, "ping"), [Expect("ping with an integer id", i,
                                           check=lambda m: None if type(m["id"]) is int
                                           else "the integer id came back as %r" % m["id"])]
        if kind == "special_id":
            value = t[1] if not isinstance(t[1], tuple) else t[1][0] * t[1][1]
            if isinstance(value, str) and value not in ("", "\u00e9\U0001F600") and \
                    len(value) < 100:
                value = "c-%d-%s" % (next(self.ids), value)   # unique, with odd characters
            if id_key(value) in self.example_keys:
                value = self.fresh("c")
            self.sent_keys.add(id_key(value))
            self.example_keys.add(id_key(value))
            return req(value, "ping"), [Expect(
                "ping with id %r" % (value if len(repr(value)) < 60 else repr(value)[:60]),
                value, check=lambda m: None if type(m["id"]) is type(value) and m["id"] == value
                else "the id came back as %r" % m["id"])]
        if kind == "dup_key":
            a, b = self.fresh("g"), self.fresh("g")
            line = {
                "id": '{"jsonrpc":"2.0","id":%s,"method":"ping","id":%s}' % (dumps(a), dumps(b)),
                "method": '{"jsonrpc":"2.0","id":%s,"method":"ping","method":"tools/list"}'
                          % dumps(a),
                "jsonrpc": '{"jsonrpc":"1.0","jsonrpc":"2.0","id":%s,"method":"ping"}' % dumps(a),
                "params": '{"jsonrpc":"2.0","id":%s,"method":"ping","params":[],"params":{}}'
                          % dumps(a),
            }[t[1]]
            return line, [Expect("duplicate %r keys" % t[1], a, or_null=True,
                                 alt_ids=[b] if t[1] == "id" else [])]
        if kind == "tools_list":
            i = self.fresh("c")
            names = lambda r: "good__echo" in [x.get("name") for x in r.get("tools", [])]  # noqa
            return req(i, "tools/list"), [Expect("tools/list", i,
                                                 check=expect_result(names, "lists good__echo"))]
        if kind == "echo":
            i = self.fresh("c")
            return (req(i, "tools/call", call("good__echo", {"text": t[1]})),
                    [Expect("good__echo", i, check=echo_check(t[1]))])
        if kind == "r_echo":
            i = self.fresh("c")
            text = json.dumps(t[1], sort_keys=True)
            check = expect_result(lambda r: tool_text(r) == text, "r__echo")
            return (req(i, "tools/call", call("r__echo", t[1])),
                    [Expect("r__echo", i, check=None if self.relaxed else check)])
        if kind == "blob":
            i = self.fresh("c")
            return (req(i, "tools/call", call("r__blob", {"bytes": t[1]})),
                    [Expect("r__blob %d" % t[1], i,
                            check=None if self.relaxed else blob_check(t[1]))])
        if kind == "unknown_method":
            i = self.fresh("c")
            method = t[1] if not isinstance(t[1], tuple) else t[1][0] * t[1][1]
            return req(i, method), [Expect("unknown method", i, error=True,
                                         check=lambda m: None if m.get("error", {}).get(
                                             "code") == -32601 else "expected -32601")]
        if kind == "odd_request":
            i = self.fresh("c")
            return req(i, t[1], t[2]), [Expect("%s with odd params" % t[1], i, or_null=True)]
        if kind == "odd_call":
            i = self.fresh("c")
            return req(i, "tools/call", t[1]), [Expect("tools/call with odd params", i,
                                                       or_null=True)]
        if kind == "not_json":
            return t[1], [Expect("not JSON", error=True)]
        if kind in ("non_object", "object"):
            return dumps(t[1]), [Expect("not a request", error=True)]
        if kind == "bad_envelope":
            i = self.fresh("g")
            m = {"jsonrpc": "2.0", "id": i, "method": "ping"}
            own = True
            form = t[1]
            if form == "no_jsonrpc":
                del m["jsonrpc"]
            elif form == "jsonrpc_1.0":
                m["jsonrpc"] = "1.0"
            elif form == "jsonrpc_num":
                m["jsonrpc"] = 2.0
            elif form.startswith("method_"):
                m["method"] = {"method_int": 42, "method_null": None, "method_list": ["ping"],
                               "method_obj": {"m": "ping"}}[form]
            elif form in ("id_2^64", "id_1e3") and \
                    id_key(2**64 if form == "id_2^64" else 1000) not in self.example_keys:
                # Integers in the JSON text that a parser may hold as floats: the answer,
                # if it has this id, must give it back exactly.
                m["id"] = 2**64 if form == "id_2^64" else 1000
                line = dumps(m).replace('"id":1000', '"id":1e3')
                self.sent_keys.add(id_key(m["id"]))
                self.example_keys.add(id_key(m["id"]))
                return line, [Expect("bad envelope " + form, m["id"] if form == "id_2^64"
                                     else None, lo=0 if form == "id_1e3" else 1, or_null=True)]
            elif form in ("id_2^64", "id_1e3"):
                del m["jsonrpc"]
            elif form.startswith("id_"):
                m["id"] = {"id_obj": {"x": 1}, "id_list": [1], "id_bool": True, "id_float": 1.5,
                           "id_null": None}[form]
                own = False
            elif form == "no_method":
                del m["method"]
            elif form == "empty":
                m = {}
                own = False
            return dumps(m), [Expect("bad envelope " + form, i if own else None, or_null=own,
                                     error=True)]
        if kind == "deep":
            return self.deep_line(t[1], t[2], req)
        if kind == "oversized":
            form, extra = t[1], t[2]
            if form == "not_json":
                return "[" + "1," * ((MAX_LINE + extra) // 2), [Expect("oversized", error=True)]
            i = self.fresh("g")
            pad = "p" * (MAX_LINE + extra)
            return (req(i, "ping", {"pad": pad}, id_last=(form == "ping_id_late")),
                    [Expect("line over max_line", i, or_null=True, error=True,
                            check=lambda m: None if "exceeds max_line" in
                            m.get("error", {}).get("message", "") else
                            "the error should say 'exceeds max_line'")])
        if kind == "near_limit":
            i = self.fresh("c")
            base = len(req(i, "ping", {"pad": ""}))
            line = req(i, "ping", {"pad": "p" * (MAX_LINE - t[1] - base)})
            return line, [Expect("ping just under max_line", i,
                                 check=expect_result(lambda r: r == {}, "{}"))]
        if kind == "bad_utf8":
            form, bad = t[1], t[2]
            i = self.fresh("g")
            head = b'{"jsonrpc":"2.0","id":' + dumps(i).encode()
            if form == "ping_param":
                raw = head + b',"method":"ping","params":{"s":"' + bad + b'"}}'
                e = Expect("bad UTF-8 in a ping's params", i, or_null=True)
            elif form == "echo_text":
                raw = (head + b',"method":"tools/call","params":{"name":"good__echo",'
                       b'"arguments":{"text":"' + bad + b'"}}}')
                e = Expect("bad UTF-8 in good__echo's text", i, or_null=True)
            elif form == "method":
                raw = head + b',"method":"pi' + bad + b'ng"}'
                e = Expect("bad UTF-8 in the method", i, or_null=True, error=True)
            elif form == "key":
                raw = head + b',"method":"ping","' + bad + b'":1}'
                e = Expect("bad UTF-8 in a key", i, or_null=True)
            else:
                raw = bad
                e = Expect("bad UTF-8 bytes", error=True)
            return raw, [e]
        if kind == "notification":
            m = {"jsonrpc": "2.0", "method": t[1]}
            if t[2] == "null":
                m["params"] = None
            elif t[2] != "omit":
                m["params"] = t[2]
            ok_params = "params" not in m or isinstance(m["params"], dict)
            # Without an id nothing is answered; params of a wrong type may get an
            # Invalid Request with id null.
            return dumps(m), [] if ok_params else [Expect("notification, odd params", lo=0)]
        if kind == "cancel_unknown":
            rid = {"string": self.fresh("x"), "int": 10**15 + next(self.ids),
                   "object": {"id": 1}, "none": None}[t[1]]
            params = {} if t[1] == "none" else {"requestId": rid}
            if t[2] != "omit":
                params["reason"] = t[2]
            return dumps({"jsonrpc": "2.0", "method": "notifications/cancelled",
                          "params": params}), []
        if kind == "stray_response":
            form = t[1]
            if form == "int_id":
                i = 10**15 + next(self.ids)
                self.sent_keys.add(id_key(i))
            else:
                i = self.fresh("s")
            m = {"jsonrpc": "2.0", "id": i}
            body = {"result": {"result": {}}, "result_str": {"result": "x"},
                    "result_null": {"result": None}, "int_id": {"result": {}},
                    "error": {"error": {"code": 1, "message": "x"}},
                    "error_str": {"error": "x"},
                    "both": {"result": {}, "error": {"code": 1, "message": "x"}},
                    "null_id_error": {"error": {"code": -32700, "message": "Parse error"}}}[form]
            m.update(body)
            if form == "null_id_error":
                m["id"] = None
            if form in ("error_str", "both", "null_id_error"):
                return dumps(m), [Expect("odd response " + form, None if form ==
                                         "null_id_error" else i, lo=0, or_null=True, error=True)]
            return dumps(m), [Expect("stray response " + form, i, lo=0, hi=0)]
        if kind == "blank":
            return t[1], []
        if kind == "duplicate":
            i = self.fresh("d")
            first = req(i, "tools/call", call("r__sleep", {"ms": t[2]}))
            second = {"ping": lambda: req(i, "ping"),
                      "echo": lambda: req(i, "tools/call", call("good__echo", {"text": "dup"})),
                      "r_echo": lambda: req(i, "tools/call", call("r__echo", {})),
                      "sleep": lambda: req(i, "tools/call", call("r__sleep", {"ms": 10}))}[t[1]]()
            return [first, second], [Expect("an id sent twice while in flight", i, lo=2, hi=2)]
        raise AssertionError(kind)

    def deep_line(self, form, k, req):
        if form in ("bare", "bare_unclosed", "objects"):
            text = {"bare": nested(k), "bare_unclosed": "[" * k,
                    "objects": '{"a":' * k + "1" + "}" * k}[form]
            return text, [Expect("deep %s %d" % (form, k), error=True)]
        i = self.fresh("g")
        if form == "unclosed":
            line = '{"jsonrpc":"2.0","id":%s,"method":"ping","params":%s' % (dumps(i), "[" * k)
            return line, [Expect("unclosed params %d deep" % k, i, or_null=True, error=True)]
        if form == "echo":
            text = "deep"
            line = req(i, "tools/call", {"name": "good__echo",
                                         "arguments": {"text": text, "x": "@@"}}).replace(
                '"@@"', nested(k))
            depth = 3 + k
            ok = echo_check(text)
        else:
            line = req(i, "ping", {"x": "@@"}, id_last=(form == "ping_id_last")).replace(
                '"@@"', nested(k))
            depth = 2 + k
            ok = expect_result(lambda r: r == {}, "{}")
        if depth <= MAX_DEPTH:
            return line, [Expect("depth %d (allowed)" % depth, i, check=ok)]
        return line, [Expect("depth %d (> max_json_depth)" % depth, i, or_null=True, error=True,
                             check=lambda m: None if "nested deeper than" in
                             m.get("error", {}).get("message", "") else
                             "the error should say 'nested deeper than'")]

    # ----------------------------------------------------------- one backend call

    def backend_call(self, t):
        kind = t[0]
        i = self.fresh("b")
        if kind == "emit":
            args = {"lines": [build_backend_line(x) for x in t[1]],
                    "lines_b64": [build_backend_b64(x) for x in t[2]],
                    "then": t[3], "repeat": t[4]}
            msg = {"jsonrpc": "2.0", "id": i, "method": "tools/call",
                   "params": call("r__emit", args)}
            return dumps(msg), [Expect("r__emit", i)]
        if kind == "good_echo":
            msg = {"jsonrpc": "2.0", "id": i, "method": "tools/call",
                   "params": call("good__echo", {"text": t[1]})}
            return dumps(msg), [Expect("good__echo", i, check=echo_check(t[1]))]
        if kind == "r_sleep":
            msg = {"jsonrpc": "2.0", "id": i, "method": "tools/call",
                   "params": call("r__sleep", {"ms": t[1]})}
            return dumps(msg), [Expect("r__sleep", i)]
        msg = {"jsonrpc": "2.0", "id": i, "method": "tools/call",
               "params": call("r__blob", {"bytes": t[1]})}
        # Wrong-id answers of a concurrent emit may answer it instead: count only,
        # except that an answer over max_line never reaches the client as a result.
        return dumps(msg), [Expect("r__blob %d" % t[1], i)]

    # ----------------------------------------------------------- running an example

    def run_example(self, example, build):
        """Builds `example` with build(template) into [(bytes or [bytes], [Expect])],
        sends it, syncs, checks."""
        key = repr(example)
        if self.first_failure is not None and key not in self.failed and \
                time.monotonic() - self.first_failure > SHRINK_BUDGET:
            reject()  # out of shrinking time: hypothesis reports the smallest failure so far
        m = self.gateway()
        self.examples += 1
        self.example_keys = set()
        try:
            self._run(m, [build(t) for t in example])
        except BaseException:
            self.failed.add(key)
            if self.first_failure is None:
                self.first_failure = time.monotonic()
            # The next example gets a fresh gateway; this one is checked in tearDown.
            m.close_stdin()
            self.gw = None
            raise

    @staticmethod
    def _answers(m, start):
        """The answers (responses) on stdout since message index `start`."""
        with m.cond:
            return [x for _, x in m.messages[start:] if "method" not in x]

    def _run(self, m, items):
        with m.cond:
            start = len(m.messages)
            start_lines = len(m.lines)
            start_raw = len(m.raw_stdout)
        expects = []
        for lines, exp in items:
            if not isinstance(lines, list):
                lines = [lines]
            for line in lines:
                if isinstance(line, str):
                    line = line.encode("utf-8")
                m.send_raw(line + b"\n")
            expects.extend(exp)

        def tally():
            """(answers per id key, answers with id null) since the example began."""
            per_key, nulls = {}, []
            for x in self._answers(m, start):
                if x.get("id", 0) is None:
                    nulls.append(x)
                else:
                    k = id_key(x.get("id"))
                    per_key[k] = per_key.get(k, 0) + 1
            return per_key, nulls

        def count(e, per_key):
            return sum(per_key.get(k, 0) for k in e.keys)

        # Wait for every answer that must come (own id, or id null where allowed).
        def settled():
            per_key, nulls = tally()
            need_null = 0
            for e in expects:
                if e.lo == 0:
                    continue
                n = count(e, per_key)
                if not e.keys or e.or_null:
                    need_null += max(0, e.lo - n)
                elif n < e.lo:
                    return False
            return len(nulls) >= need_null
        mcptest.wait_until(lambda: settled() or not m.running(), WAIT, 0.01)

        # Sync: the gateway, good and r all still answer, in order after the example.
        sync_ping = self.fresh("sync")
        sync_echo = self.fresh("sync")
        sync_r = self.fresh("sync")
        sync_health = self.fresh("sync")
        text = "sync \u00e9\U0001F600 %d" % self.examples
        self.answer_server_requests(m)
        if not m.running():
            self.fail("mcpbraid exited (code %s) during the example\n%s"
                      % (m.proc.poll(), m.stderr_tail()))
        m.request("ping", id=sync_ping)
        m.request("tools/call", call("good__echo", {"text": text}), id=sync_echo)
        m.request("tools/call", call("r__echo", {"sync": 1}), id=sync_r)
        m.request("gateway_health", id=sync_health)
        for sid in (sync_ping, sync_echo, sync_r, sync_health):
            m.wait_response(sid, timeout=WAIT)
        self.answer_server_requests(m)
        problems = []
        if tool_text(m.responses[id_key(sync_echo)].get("result", {})) != text:
            problems.append("good__echo after the example: %s"
                            % dumps(m.responses[id_key(sync_echo)])[:300])
        if "result" not in m.responses[id_key(sync_r)] or \
                m.responses[id_key(sync_r)]["result"].get("isError"):
            problems.append("r__echo after the example: %s"
                            % dumps(m.responses[id_key(sync_r)])[:300])
        health = m.responses[id_key(sync_health)].get("result", {})
        internal = health.get("mcpbraid", {}).get("internal_errors", 0)
        if internal:
            problems.append("health mcpbraid.internal_errors = %s" % internal)
        good_state = health.get("backends", {}).get("good", {}).get("state")
        if good_state != "ready":
            problems.append("backend good is %r, not ready" % good_state)

        # Count the answers.
        per_key, nulls = tally()
        answers = self._answers(m, start)
        with m.cond:
            lines = m.lines[start_lines:]
            raw = bytes(m.raw_stdout[start_raw:])
            bad = list(m.bad_lines)
        null_lo = null_hi = 0
        for e in expects:
            n = count(e, per_key)
            if not e.keys:
                null_lo += e.lo
                null_hi += e.hi
            elif e.or_null and n <= e.hi:
                null_lo += max(0, e.lo - n)
                null_hi += e.hi - n
            elif not e.lo <= n <= e.hi:
                problems.append("%s (id %s): %d answers, expected %s" % (
                    e.desc, " or ".join(e.keys)[:100], n,
                    e.lo if e.lo == e.hi else "%d..%d" % (e.lo, e.hi)))
            for x in answers:
                if x.get("id") is None or id_key(x["id"]) not in e.keys:
                    continue
                if e.error and not is_error_answer(x):
                    problems.append("%s: expected an error, got %s" % (e.desc, dumps(x)[:300]))
                elif e.check and (not e.error or is_error_answer(x)):
                    why = e.check(x)
                    if why:
                        problems.append("%s: %s" % (e.desc, why))
        for x in nulls:
            if "error" not in x:
                problems.append("an answer with id null that is not an error: %s" % dumps(x)[:300])
        if not null_lo <= len(nulls) <= null_hi:
            problems.append("%d answers with id null, expected %s: %s" % (
                len(nulls), null_lo if null_lo == null_hi else "%d..%d" % (null_lo, null_hi),
                [dumps(x)[:200] for x in nulls[:6]]))

        # Shape of everything on stdout.
        with m.cond:
            window = [x for _, x in m.messages[start:]]
        for x in window:
            if "method" in x:
                if "params" in x and not isinstance(x["params"], dict):
                    problems.append("relayed %s with params %s" % (x["method"],
                                                                   dumps(x["params"])[:200]))
                continue
            if x.get("id") is not None and id_key(x["id"]) not in self.sent_keys:
                problems.append("an answer with an id the client never sent: %s" % dumps(x)[:300])
            if "result" in x and not isinstance(x["result"], dict):
                problems.append("a result that is not an object: %s" % dumps(x)[:300])
        for line in lines:
            if '"params":null' in line:
                problems.append('stdout line with "params": null: %s' % line[:300])
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as err:
            problems.append("stdout is not valid UTF-8 (%s): %r" % (
                err.reason, raw[max(0, err.start - 100):err.start + 20]))
        if bad:
            problems.append("stdout carried non-JSON-RPC lines: %s"
                            % [(line[:300], why) for line, why in bad[:3]])
        if not m.running():
            problems.append("mcpbraid exited (code %s)" % m.proc.poll())
        if problems:
            self.fail("after sending %d line(s):\n  %s\n--- mcpbraid stderr (tail) ---\n%s" % (
                sum(len(l) if isinstance(l, list) else 1 for l, _ in items),
                "\n  ".join(problems[:12]), m.stderr_tail(25)[-6000:]))

    # The client's answers to what the gateway relays from r: proper ones and hostile ones.
    REPLIES = [{"result": {}}, {"error": {"code": -32601, "message": "no"}},
               {"result": {"roots": []}}, {"result": "str"}, {"result": None},
               {"error": "x"}, {"error": {"code": "1"}}, {"result": {"x": json.loads(nested(300))}},
               {"result": {}, "error": {"code": 1, "message": "both"}}]

    def answer_server_requests(self, m):
        """Answers what the gateway relayed from r's server->client requests."""
        for msg in m.unclaimed_server_requests():
            with m.cond:
                for j, x in enumerate(m.server_requests):
                    if x is msg:
                        m.server_requests[j] = None
            self.replies += 1
            reply = {"jsonrpc": "2.0", "id": msg["id"]}
            reply.update(self.REPLIES[self.replies % len(self.REPLIES)])
            # A malformed answer may itself get an Invalid Request back with that id.
            self.sent_keys.add(id_key(msg["id"]))
            m.send(reply)
            if self.replies % 4 == 0:
                m.send(reply)  # answered twice

    def finish(self):
        """stdin EOF: exit 0, no child left, internal_errors present and 0."""
        m = self.gateway()
        health = m.result("gateway_health")
        self.assertIn("internal_errors", health.get("mcpbraid", {}),
                      "health JSON has no mcpbraid.internal_errors")
        self.assertEqual(health["mcpbraid"]["internal_errors"], 0)
        m.close_stdin()
        self.assertEqual(m.wait_exit(15), 0, m.stderr_tail())
        m.assert_no_leftovers(5)
        m.assert_stdout_clean()

    # ----------------------------------------------------------- the properties

    def test_client_lines(self):
        """Hostile client lines: one answer per request, none for the rest."""
        @settings(max_examples=300, **SETTINGS)
        @given(st.lists(client_line, min_size=1, max_size=8))
        def prop(templates):
            self.run_example(templates, self.client_line)
        prop()
        self.finish()

    def test_backend_lines(self):
        """Hostile backend lines through r__emit: every call still gets exactly one
        answer and good keeps answering."""
        @settings(max_examples=150, **SETTINGS)
        @given(st.lists(backend_call, min_size=1, max_size=4))
        def prop(calls):
            self.run_example(calls, self.backend_call)
        prop()
        self.finish()

    def test_mixed(self):
        """Both at once, interleaved."""
        @settings(max_examples=100, **SETTINGS)
        @given(st.lists(st.one_of(st.tuples(st.just("client"), client_line),
                                  st.tuples(st.just("backend"), backend_call)),
                        min_size=1, max_size=8))
        def prop(items):
            self.relaxed = True
            self.run_example(items, lambda t: self.client_line(t[1]) if t[0] == "client"
                             else self.backend_call(t[1]))
        prop()
        self.finish()


if __name__ == "__main__":
    unittest.main(verbosity=2)
