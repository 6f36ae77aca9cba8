"""Environment isolation (issue 16).

inherit_env (README "Environment"): true (the default) passes mcpbraid's whole environment to
a stdio server's child; false passes only PATH, HOME, USER, LANG, TMPDIR and XDG_RUNTIME_DIR
(those set) plus the server's own env; a top-level default is overridden per server. One
server's env never reaches another server. The fixture's `env` tool reads the child's
environment."""

import os
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import MARKER_VAR, fixture, tool_text  # noqa: E402

KEPT = ["PATH", "HOME", "USER", "LANG", "TMPDIR", "XDG_RUNTIME_DIR"]
# Set in mcpbraid's environment by every test here (XDG_RUNTIME_DIR, where the control
# socket goes, is a real directory: setUpClass).
OURS = {"SECRET_X": "hunter2", "HOME": "/home/env-test", "USER": "env-test", "LANG": "C.UTF-8",
        "TMPDIR": "/tmp"}


def isolated(name, **kwargs):
    """A fixture entry; with inherit_env given. Its own env carries the itest marker so that
    an isolated child is still found by the leftover check."""
    inherit = kwargs.pop("inherit_env", None)
    env = dict(kwargs.pop("env", {}))
    env.setdefault(MARKER_VAR, "${%s}" % MARKER_VAR)
    entry = fixture(name, env=env, **kwargs)
    if inherit is not None:
        entry["inherit_env"] = inherit
    return entry


class EnvIsolation(mcptest.MuxTestCase):

    @classmethod
    def setUpClass(cls):
        cls.runtime_dir = tempfile.TemporaryDirectory(prefix="mcpbraid-itest-xdg-")
        OURS["XDG_RUNTIME_DIR"] = cls.runtime_dir.name

    @classmethod
    def tearDownClass(cls):
        cls.runtime_dir.cleanup()

    def start(self, servers, **top):
        m = self.mux(servers, env=OURS, extra_top=top)
        m.initialize()
        return m

    def env_of(self, m, server, name):
        result = m.call_tool("%s__env" % server, {"name": name})
        self.assertFalse(result.get("isError"), result)
        return tool_text(result)

    def test_inherit_env_false_gets_only_the_kept_variables_and_its_own_env(self):
        m = self.start({"iso": isolated("iso", inherit_env=False, env={"OWN": "mine"})})
        self.assertEqual(self.env_of(m, "iso", "SECRET_X"), "<unset>")
        self.assertEqual(self.env_of(m, "iso", "OWN"), "mine")
        for name in KEPT:
            expected = OURS.get(name, os.environ.get("PATH"))
            self.assertEqual(self.env_of(m, "iso", name), expected, name)
        # The marker came through its own env (${VAR} reads mcpbraid's environment).
        self.assertEqual(self.env_of(m, "iso", MARKER_VAR), m.marker)

    def test_inherit_env_true_by_default_passes_everything(self):
        m = self.start({"plain": isolated("plain", env={"OWN": "mine"})})
        self.assertEqual(self.env_of(m, "plain", "SECRET_X"), "hunter2")
        self.assertEqual(self.env_of(m, "plain", "OWN"), "mine")
        self.assertEqual(self.env_of(m, "plain", "HOME"), "/home/env-test")

    def test_one_servers_env_is_not_visible_to_another(self):
        m = self.start({
            "a": isolated("a", env={"ONLY_A": "a-secret", "SECRET_X": "a-version"}),
            "b": isolated("b", env={"B_SAW": "${ONLY_A:-unset}", "B_SECRET": "${SECRET_X}"}),
        })
        self.assertEqual(self.env_of(m, "a", "ONLY_A"), "a-secret")
        self.assertEqual(self.env_of(m, "a", "SECRET_X"), "a-version")
        self.assertEqual(self.env_of(m, "b", "ONLY_A"), "<unset>")
        self.assertEqual(self.env_of(m, "b", "SECRET_X"), "hunter2")
        # b's ${VAR} expansion read mcpbraid's environment, not a's env.
        self.assertEqual(self.env_of(m, "b", "B_SAW"), "unset")
        self.assertEqual(self.env_of(m, "b", "B_SECRET"), "hunter2")

    def test_top_level_default_overridden_per_server(self):
        m = self.start({"iso": isolated("iso"), "open": isolated("open", inherit_env=True)},
                       inherit_env=False)
        self.assertEqual(self.env_of(m, "iso", "SECRET_X"), "<unset>")
        self.assertEqual(self.env_of(m, "iso", "HOME"), "/home/env-test")
        self.assertEqual(self.env_of(m, "open", "SECRET_X"), "hunter2")
        # Health shows each stdio server's setting.
        health = m.call_tool("gateway_health")["structuredContent"]["backends"]
        self.assertIs(health["iso"]["inherit_env"], False)
        self.assertIs(health["open"]["inherit_env"], True)


if __name__ == "__main__":
    mcptest.main()
