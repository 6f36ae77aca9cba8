"""Config: errors exit 2 naming the file and key with nothing on stdout; config
lookup; env (with ${VAR} and ${VAR:-default}) and cwd reach the child; unknown
keys warn."""

import json
import os
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import fixture, tool_text  # noqa: E402


class ConfigErrors(mcptest.MuxTestCase):

    def run_bad(self, path, env=None, args=None):
        """Runs mcpbraid with a bad config and a stdin that is never closed: it must exit
        on its own (before reading stdin)."""
        full_env = dict(os.environ)
        full_env.pop("MCPBRAID_CONFIG", None)
        if env:
            full_env.update(env)
        cmd = [mcptest.MCPBRAID] + (args if args is not None else ["-c", path])
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=full_env)
        try:
            out, err = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            self.fail("mcpbraid with a bad config did not exit on its own; stderr: %s" % err[-2000:])
        finally:
            try:
                proc.stdin.close()
            except OSError:
                pass
        return proc.returncode, out, err.decode(errors="replace")

    def check_bad(self, doc, *needles, raw=None):
        path = self.temp_config(raw if raw is not None else doc)
        code, out, err = self.run_bad(path)
        self.assertEqual(code, 2, "exit code for a bad config; stderr: %s" % err)
        self.assertEqual(out, b"", "nothing on stdout")
        self.assertIn(path, err, "the message names the file")
        for needle in needles:
            self.assertIn(needle, err, "the message names %r" % needle)
        return err

    def test_missing_file(self):
        path = os.path.join(tempfile.gettempdir(), "mcpbraid-itest-missing-%d.json" % time.monotonic_ns())
        code, out, err = self.run_bad(path)
        self.assertEqual(code, 2, err)
        self.assertEqual(out, b"")
        self.assertIn(path, err)

    def test_unreadable_directory_as_config(self):
        d = tempfile.mkdtemp(prefix="mcpbraid-itest-")
        try:
            code, out, err = self.run_bad(d)
            self.assertEqual(code, 2, err)
            self.assertEqual(out, b"")
            self.assertIn(d, err)
        finally:
            os.rmdir(d)

    def test_invalid_json(self):
        self.check_bad(None, raw='{"mcpServers": {"a": {"command": "x",}}')

    def test_top_level_not_object(self):
        self.check_bad(None, raw='[1, 2]')

    def test_missing_mcpservers(self):
        # ("servers" would be VS Code's alias of mcpServers.)
        self.check_bad({"server": {}}, "mcpServers")

    def test_mcpservers_and_servers_together(self):
        self.check_bad({"mcpServers": {}, "servers": {}}, "servers", "mcpServers")

    def test_bad_remote_entries(self):
        self.check_bad({"mcpServers": {"r": {"url": "ftp://example.com/"}}}, "mcpServers.r.url")
        self.check_bad({"mcpServers": {"r": {"type": "http", "command": "x"}}}, "mcpServers.r.type")
        err = self.check_bad({"mcpServers": {"r": {"url": "http://127.0.0.1:1/",
                                                   "headers": {"X-Key": "itest-s3cret\n"}}}},
                             "mcpServers.r.headers.X-Key")
        self.assertNotIn("itest-s3cret", err)

    def test_mcpservers_wrong_type(self):
        self.check_bad({"mcpServers": []}, "mcpServers")

    def test_missing_command(self):
        self.check_bad({"mcpServers": {"good": fixture("good"), "nocmd": {"args": ["x"]}}},
                       "nocmd", "command")

    def test_bad_server_name(self):
        for name in ["bad name", "dots.not.ok", "slash/x", "", "\u00e9t\u00e9"]:
            with self.subTest(name=name):
                err = self.check_bad({"mcpServers": {name: fixture("x")}})
                if name:
                    self.assertIn(name, err)

    def test_wrong_types(self):
        cases = [
            ({"command": 42}, "command"),
            ({"command": mcptest.FIXTURE, "args": "--name x"}, "args"),
            ({"command": mcptest.FIXTURE, "args": [1, 2]}, "args"),
            ({"command": mcptest.FIXTURE, "env": ["A=B"]}, "env"),
            ({"command": mcptest.FIXTURE, "env": {"A": 1}}, "A"),
            ({"command": mcptest.FIXTURE, "cwd": 7}, "cwd"),
            ({"command": mcptest.FIXTURE, "disabled": "yes"}, "disabled"),
            ("not an object", "srv"),
        ]
        for entry, key in cases:
            with self.subTest(entry=entry):
                self.check_bad({"mcpServers": {"srv": entry}}, "srv", key)

    def test_bad_top_level_values(self):
        self.check_bad({"mcpServers": {}, "separator": 5}, "separator")
        self.check_bad({"mcpServers": {}, "initialize_timeout": "soon"}, "initialize_timeout")
        self.check_bad({"mcpServers": {}, "initialize_timeout": -1}, "initialize_timeout")
        self.check_bad({"mcpServers": {}, "failsafe": {"timeout": "later"}}, "failsafe.timeout")

    def test_no_fixture_started_on_bad_config(self):
        marker = "cfg-%d" % time.monotonic_ns()
        path = self.temp_config({"mcpServers": {"good": fixture("good"), "bad": {"args": []}}})
        code, out, err = self.run_bad(path, env={mcptest.MARKER_VAR: marker})
        self.assertEqual(code, 2)
        self.assertEqual(mcptest.pids_with_marker(marker), [])


class ConfigLookup(mcptest.MuxTestCase):

    def good_doc(self):
        return mcptest.config_doc({"looked": fixture("looked")})

    def run_lookup(self, env):
        full = dict(os.environ)
        for k in ("MCPBRAID_CONFIG", "XDG_CONFIG_HOME"):
            full.pop(k, None)
        full.update(env)
        marker = "lookup-%d-%d" % (os.getpid(), time.monotonic_ns())
        full[mcptest.MARKER_VAR] = marker
        script = mcptest.jsonl(mcptest.req(1, "tools/call", {"name": "looked__echo",
                                                             "arguments": {"text": "found"}}))
        proc = subprocess.run([mcptest.MCPBRAID], input=script, capture_output=True, env=full,
                              timeout=20)
        self.assertTrue(mcptest.wait_until(lambda: not mcptest.pids_with_marker(marker), 3.0),
                        "fixture left running")
        return proc

    def test_mcpbraid_config_env(self):
        path = self.temp_config(self.good_doc())
        proc = self.run_lookup({"MCPBRAID_CONFIG": path})
        self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
        msgs = mcptest.parse_stdout(proc.stdout)
        self.assertEqual(tool_text(msgs[0]["result"]), "found")

    def test_xdg_config_home(self):
        d = tempfile.mkdtemp(prefix="mcpbraid-itest-xdg-")
        os.makedirs(os.path.join(d, "mcpbraid"))
        path = os.path.join(d, "mcpbraid", "config.json")
        with open(path, "w") as f:
            json.dump(self.good_doc(), f)
        try:
            proc = self.run_lookup({"XDG_CONFIG_HOME": d})
            self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
            self.assertEqual(tool_text(mcptest.parse_stdout(proc.stdout)[0]["result"]), "found")
        finally:
            os.unlink(path)
            os.rmdir(os.path.join(d, "mcpbraid"))
            os.rmdir(d)

    def test_home_default(self):
        d = tempfile.mkdtemp(prefix="mcpbraid-itest-home-")
        os.makedirs(os.path.join(d, ".config", "mcpbraid"))
        path = os.path.join(d, ".config", "mcpbraid", "config.json")
        with open(path, "w") as f:
            json.dump(self.good_doc(), f)
        try:
            proc = self.run_lookup({"HOME": d})
            self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
            self.assertEqual(tool_text(mcptest.parse_stdout(proc.stdout)[0]["result"]), "found")
        finally:
            os.unlink(path)
            os.rmdir(os.path.join(d, ".config", "mcpbraid"))
            os.rmdir(os.path.join(d, ".config"))
            os.rmdir(d)

    def test_flag_wins_over_env(self):
        path = self.temp_config(self.good_doc())
        full = dict(os.environ, MCPBRAID_CONFIG="/nonexistent/mcpbraid.json")
        script = mcptest.jsonl(mcptest.req(1, "ping"))
        proc = subprocess.run([mcptest.MCPBRAID, "--config", path], input=script,
                              capture_output=True, env=full, timeout=20)
        self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
        self.assertEqual(mcptest.parse_stdout(proc.stdout)[0]["result"], {})


class EnvAndCwd(mcptest.MuxTestCase):

    def test_env_expansion_reaches_child(self):
        servers = {"e": fixture("e", env={
            "PLAIN": "plain value",
            "FROM_VAR": "${MCPBRAID_ITEST_SET}",
            "WITH_DEFAULT_SET": "${MCPBRAID_ITEST_SET:-unused}",
            "WITH_DEFAULT_UNSET": "${MCPBRAID_ITEST_UNSET:-fallback value}",
            "WITH_DEFAULT_EMPTY": "${MCPBRAID_ITEST_EMPTY:-for empty}",
            "MIXED": "pre-${MCPBRAID_ITEST_SET}-post",
            "UNSET_NO_DEFAULT": "[${MCPBRAID_ITEST_UNSET}]",
        })}
        m = self.mux(servers, env={"MCPBRAID_ITEST_SET": "hello", "MCPBRAID_ITEST_EMPTY": "",
                                   "MCPBRAID_ITEST_INHERITED": "inherited"})
        m.initialize()

        def env(name):
            return tool_text(m.call_tool("e__env", {"name": name}))

        self.assertEqual(env("PLAIN"), "plain value")
        self.assertEqual(env("FROM_VAR"), "hello")
        self.assertEqual(env("WITH_DEFAULT_SET"), "hello")
        self.assertEqual(env("WITH_DEFAULT_UNSET"), "fallback value")
        self.assertEqual(env("WITH_DEFAULT_EMPTY"), "for empty")
        self.assertEqual(env("MIXED"), "pre-hello-post")
        self.assertEqual(env("UNSET_NO_DEFAULT"), "[]")
        # env adds to the inherited environment.
        self.assertEqual(env("MCPBRAID_ITEST_INHERITED"), "inherited")
        self.assertEqual(env("PATH"), os.environ.get("PATH", "<unset>"))
        self.assertEqual(env("MCPBRAID_ITEST_NEVER_SET"), "<unset>")

    def test_env_overrides_inherited(self):
        m = self.mux({"e": fixture("e", env={"MCPBRAID_ITEST_OVR": "from config"})},
                     env={"MCPBRAID_ITEST_OVR": "from parent"})
        self.assertEqual(tool_text(m.call_tool("e__env", {"name": "MCPBRAID_ITEST_OVR"})),
                         "from config")

    def test_env_is_per_server(self):
        m = self.mux({"x": fixture("x", env={"ONLY_X": "x"}), "y": fixture("y")})
        self.assertEqual(tool_text(m.call_tool("x__env", {"name": "ONLY_X"})), "x")
        self.assertEqual(tool_text(m.call_tool("y__env", {"name": "ONLY_X"})), "<unset>")

    def test_expansion_in_command_args_and_cwd(self):
        d = tempfile.mkdtemp(prefix="mcpbraid-itest-cwd-")
        try:
            servers = {"c": {"command": "${MCPBRAID_ITEST_FIX}",
                             "args": ["--name", "${MCPBRAID_ITEST_NAME:-c}"],
                             "cwd": "${MCPBRAID_ITEST_DIR}"}}
            m = self.mux(servers, env={"MCPBRAID_ITEST_FIX": mcptest.FIXTURE,
                                       "MCPBRAID_ITEST_DIR": d})
            m.initialize()
            self.assertEqual(tool_text(m.call_tool("c__cwd")), os.path.realpath(d))
            r = m.result("resources/read", {"uri": "fixture://c/static"})
            self.assertEqual(r["contents"][0]["text"], "static content of c")
            m.close_stdin()
            m.wait_exit(10)
        finally:
            os.rmdir(d)

    def test_cwd_reaches_child(self):
        d1 = tempfile.mkdtemp(prefix="mcpbraid-itest-cwd1-")
        d2 = tempfile.mkdtemp(prefix="mcpbraid-itest-cwd2-")
        try:
            m = self.mux({"one": fixture("one", cwd=d1), "two": fixture("two", cwd=d2),
                          "none": fixture("none")}, cwd="/")
            m.initialize()
            self.assertEqual(tool_text(m.call_tool("one__cwd")), os.path.realpath(d1))
            self.assertEqual(tool_text(m.call_tool("two__cwd")), os.path.realpath(d2))
            # Without cwd, the child inherits mcpbraid's working directory.
            self.assertEqual(tool_text(m.call_tool("none__cwd")), "/")
            m.close_stdin()
            m.wait_exit(10)
        finally:
            os.rmdir(d1)
            os.rmdir(d2)

    def test_bad_cwd_reported_others_work(self):
        m = self.mux({"lost": fixture("lost", cwd="/nonexistent/dir/for/mcpbraid"),
                      "a": fixture("a")})
        m.initialize()
        self.assertEqual(tool_text(m.call_tool("a__echo", {"text": "ok"})), "ok")
        self.assertTrue(any("lost" in l for l in m.stderr.splitlines()
                            if "error" in l.lower() or "fail" in l.lower()), m.stderr_tail())

    def test_unknown_keys_warn_and_run(self):
        doc = mcptest.config_doc({"a": dict(fixture("a"), editorThing=True)},
                                 globalShortcut="Ctrl+Space", theme={"dark": True})
        m = self.mux(config=doc)
        m.initialize()
        self.assertEqual(tool_text(m.call_tool("a__echo", {"text": "ok"})), "ok")
        err = m.stderr
        self.assertIn("globalShortcut", err)
        self.assertIn("theme", err)
        self.assertIn("editorThing", err)
        for line in err.splitlines():
            if "globalShortcut" in line:
                self.assertRegex(line.lower(), r"warn")

    def test_claude_desktop_style_config(self):
        # The shape of a pasted Claude Desktop block, plus type: stdio.
        doc = {"mcpServers": {"desk": {"type": "stdio", "command": mcptest.FIXTURE,
                                       "args": ["--name", "desk"], "env": {}}}}
        m = self.mux(config=doc)
        m.initialize()
        self.assertEqual(tool_text(m.call_tool("desk__echo", {"text": "d"})), "d")

    def test_vscode_style_config(self):
        # VS Code's mcp.json: "servers" instead of "mcpServers", "inputs", "envFile".
        doc = {"inputs": [{"type": "promptString", "id": "token", "password": True}],
               "servers": {"code": {"type": "stdio", "command": mcptest.FIXTURE,
                                    "args": ["--name", "code"], "envFile": "/nonexistent/.env"}}}
        m = self.mux(config=doc)
        m.initialize()
        self.assertEqual(tool_text(m.call_tool("code__echo", {"text": "v"})), "v")
        self.assertIn("inputs", m.stderr)
        self.assertIn("servers.code.envFile", m.stderr)


if __name__ == "__main__":
    mcptest.main()
