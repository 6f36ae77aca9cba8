"""`mcpbraid import` and `mcpbraid install`: every editor's sample file
(tests/data/editors) read, converted, written; the launch entry installed
into a copy of each, with backups; --move. HOME is a temporary directory."""

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import FIXTURE_TOOLS  # noqa: E402

SAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "editors")

# editor -> (sample, the key of its server map, the servers import brings over)
EDITORS = {
    "claude-desktop": ("claude-desktop.json", "mcpServers", ["filesystem", "memory", "linear"]),
    "claude-code": ("claude-code-user.json", "mcpServers", ["github", "asana", "airtable"]),
    "cursor": ("cursor.json", "mcpServers", ["browser", "stripe", "sentry"]),
    "vscode": ("vscode.json", "servers", ["github", "perplexity", "notes", "weather"]),
    "windsurf": ("windsurf.json", "mcpServers", ["git", "zapier", "talaria", "sqlite"]),
    "zed": ("zed-settings.json", "context_servers",
            ["fetch", "github-local", "remote-docs", "off-for-now"]),
}

# Where each editor keeps its user-level file, under HOME (Linux).
USER_FILES = {
    "claude-desktop": ".config/Claude/claude_desktop_config.json",
    "claude-code": ".claude.json",
    "cursor": ".cursor/mcp.json",
    "vscode": ".config/Code/User/mcp.json",
    "windsurf": ".codeium/windsurf/mcp_config.json",
    "zed": ".config/zed/settings.json",
}


def editor_doc(editor, servers):
    """A minimal file of `editor` holding `servers` (in the editor's shape)."""
    doc = {"theme": "dark"}
    doc[EDITORS[editor][1]] = servers
    return doc


class ImportInstall(mcptest.MuxTestCase):
    def setUp(self):
        super().setUp()
        self.home = tempfile.mkdtemp(prefix="mcpbraid-import-")
        self.env = dict(os.environ)
        for var in ("MCPBRAID_CONFIG", "XDG_CONFIG_HOME", "MCPBRAID_LOG"):
            self.env.pop(var, None)
        self.env["HOME"] = self.home
        self.ours = os.path.join(self.home, ".config", "mcpbraid", "config.json")

    def tearDown(self):
        super().tearDown()
        shutil.rmtree(self.home, ignore_errors=True)

    def run_mcpbraid(self, *args, cwd=None):
        return subprocess.run([mcptest.MCPBRAID, *args], capture_output=True, text=True,
                              env=self.env, cwd=cwd or self.home, timeout=30)

    def copy_sample(self, editor, where=None):
        path = where or os.path.join(self.home, "copy-" + EDITORS[editor][0])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        shutil.copy(os.path.join(SAMPLES, EDITORS[editor][0]), path)
        return path

    def write(self, path, doc):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(doc if isinstance(doc, str) else json.dumps(doc, indent=2))
        return path

    def read(self, path):
        with open(path) as f:
            return f.read()

    def backups(self, path):
        return sorted(glob.glob(path + ".bak*"))

    # ------------------------------------------------------------------ import

    def test_import_prints_each_editors_servers_as_a_config(self):
        for editor, (sample, _, names) in EDITORS.items():
            with self.subTest(editor=editor):
                p = self.run_mcpbraid("import", "--from", editor, "--file",
                                      os.path.join(SAMPLES, sample))
                self.assertEqual(p.returncode, 0, p.stderr)
                doc = json.loads(p.stdout)
                self.assertEqual(list(doc), ["mcpServers"])
                self.assertEqual(list(doc["mcpServers"]), names)

    def test_import_converts_remote_servers_and_variables(self):
        p = self.run_mcpbraid("import", "--from", "windsurf", "--file",
                              os.path.join(SAMPLES, "windsurf.json"))
        servers = json.loads(p.stdout)["mcpServers"]
        self.assertEqual(servers["zapier"], {"url": "https://actions.zapier.com/mcp/sk-abc/sse"})
        self.assertEqual(servers["talaria"]["headers"]["Authorization"], "Bearer ${TALARIA_TOKEN}")
        self.assertIn("disabledTools becomes tools.deny", p.stderr)

        p = self.run_mcpbraid("import", "--from", "vscode", "--file",
                              os.path.join(SAMPLES, "vscode.json"))
        servers = json.loads(p.stdout)["mcpServers"]
        self.assertEqual(servers["github"]["headers"]["Authorization"], "Bearer ${GITHUB_TOKEN}")
        self.assertEqual(servers["weather"], {"type": "sse", "url": "http://localhost:8123/sse"})
        self.assertIn("${input:github-token} becomes ${GITHUB_TOKEN}", p.stderr)

        p = self.run_mcpbraid("import", "--from", "zed", "--file",
                              os.path.join(SAMPLES, "zed-settings.json"))
        self.assertIn("mcp-server-context7: provided by a Zed extension", p.stderr)

    def test_variables_set_later_only_warn(self):
        """A URL from a variable with a default imports; one without, unset, is a warning."""
        self.env.pop("DOCS_URL", None)
        p = self.run_mcpbraid("import", "--from", "claude-code", "--file",
                              os.path.join(SAMPLES, "claude-code-project.mcp.json"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["mcpServers"]["docs"]["url"],
                         "${DOCS_URL:-https://docs.example.com/mcp}")
        self.assertNotIn("warning", p.stderr)
        path = self.write(os.path.join(self.home, "mcp.json"),
                          {"mcpServers": {"api": {"url": "${API_URL_UNSET}"}}})
        p = self.run_mcpbraid("import", "--from", "cursor", "--file", path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("warning: in this environment mcpbraid refuses the imported config: "
                      "mcpServers.api.url", p.stderr)

    def test_a_project_file_gives_workspace_folder(self):
        project = os.path.join(self.home, "src", "app")
        path = self.copy_sample("vscode", os.path.join(project, ".vscode", "mcp.json"))
        p = self.run_mcpbraid("import", "--from", "vscode", "--file", path)
        self.assertEqual(p.returncode, 0, p.stderr)
        notes = json.loads(p.stdout)["mcpServers"]["notes"]
        self.assertEqual(notes["args"], [project + "/tools/notes-server.js"])

    def test_import_reads_the_editors_usual_file(self):
        for editor in EDITORS:
            with self.subTest(editor=editor):
                self.copy_sample(editor, os.path.join(self.home, USER_FILES[editor]))
                p = self.run_mcpbraid("import", "--from", editor)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(list(json.loads(p.stdout)["mcpServers"]), EDITORS[editor][2])

    def test_claude_code_adds_the_current_projects_local_servers(self):
        path = self.copy_sample("claude-code", os.path.join(self.home, ".claude.json"))
        doc = json.loads(self.read(path))
        project = os.path.join(self.home, "shop")
        os.makedirs(project)
        doc["projects"] = {project: doc["projects"]["/home/me/src/shop"]}
        self.write(path, doc)
        p = self.run_mcpbraid("import", "--from", "claude-code", cwd=project)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("postgres", json.loads(p.stdout)["mcpServers"])

    def test_the_imported_config_serves(self):
        """Each editor's shape of a stdio server, imported, runs under mcpbraid."""
        entry = {"command": mcptest.FIXTURE, "args": ["--name", "fx"]}
        shapes = {editor: entry for editor in EDITORS}
        shapes["claude-code"] = dict(entry, type="stdio")
        shapes["vscode"] = dict(entry, type="stdio")
        shapes["zed"] = {"command": {"path": mcptest.FIXTURE, "args": ["--name", "fx"]},
                         "settings": {}}
        for editor, shape in shapes.items():
            with self.subTest(editor=editor):
                path = self.write(os.path.join(self.home, editor + ".json"),
                                  editor_doc(editor, {"fx": shape}))
                out = os.path.join(self.home, editor + "-mcpbraid.json")
                p = self.run_mcpbraid("import", "--from", editor, "--file", path, "--write",
                                      "-c", out)
                self.assertEqual(p.returncode, 0, p.stderr)
                mux = self.mux(config_path=out, log_level="warn")
                mux.initialize()
                tools = [t["name"] for t in mux.result("tools/list")["tools"]]
                self.assertEqual(tools[:len(FIXTURE_TOOLS)], ["fx__" + t for t in FIXTURE_TOOLS])
                mux.close_stdin()
                self.assertEqual(mux.wait_exit(), 0)

    def test_write_goes_to_our_config_path_and_never_over_a_file_without_force(self):
        sample = os.path.join(SAMPLES, "cursor.json")
        p = self.run_mcpbraid("import", "--from", "cursor", "--file", sample, "--write")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "")
        self.assertIn("wrote 3 server(s)", p.stderr)
        written = self.read(self.ours)
        self.assertEqual(list(json.loads(written)["mcpServers"]), EDITORS["cursor"][2])

        other = os.path.join(SAMPLES, "windsurf.json")
        p = self.run_mcpbraid("import", "--from", "windsurf", "--file", other, "--write")
        self.assertEqual(p.returncode, 1)
        self.assertIn(self.ours + " exists: not replaced", p.stderr)
        self.assertEqual(self.read(self.ours), written)
        self.assertEqual(self.backups(self.ours), [])

        p = self.run_mcpbraid("import", "--from", "windsurf", "--file", other, "--write",
                              "--force")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.backups(self.ours), [self.ours + ".bak"])
        self.assertIn("backup of %s: %s.bak" % (self.ours, self.ours), p.stderr)
        self.assertEqual(self.read(self.ours + ".bak"), written)
        self.assertEqual(list(json.loads(self.read(self.ours))["mcpServers"]),
                         EDITORS["windsurf"][2])

        # A second --force keeps the first backup and makes a timestamped one.
        p = self.run_mcpbraid("import", "--from", "cursor", "--file", sample, "--write",
                              "--force")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(self.backups(self.ours)), 2)
        self.assertEqual(self.read(self.ours + ".bak"), written)

    def test_write_honours_mcpbraid_config(self):
        target = os.path.join(self.home, "elsewhere", "braid.json")
        self.env["MCPBRAID_CONFIG"] = target
        p = self.run_mcpbraid("import", "--from", "claude-desktop", "--file",
                              os.path.join(SAMPLES, "claude-desktop.json"), "--write")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(os.path.exists(target))
        self.assertEqual(os.stat(target).st_mode & 0o777, 0o600)

    def test_import_errors_name_the_file(self):
        missing = os.path.join(self.home, "nope.json")
        p = self.run_mcpbraid("import", "--from", "cursor", "--file", missing)
        self.assertEqual(p.returncode, 2)
        self.assertIn("cannot read " + missing, p.stderr)
        bad = self.write(os.path.join(self.home, "bad.json"), '{"mcpServers": {')
        p = self.run_mcpbraid("import", "--from", "cursor", "--file", bad)
        self.assertEqual(p.returncode, 2)
        self.assertIn(bad + ": not valid JSON", p.stderr)
        empty = self.write(os.path.join(self.home, "empty.json"), '{"theme": 1}')
        p = self.run_mcpbraid("import", "--from", "cursor", "--file", empty)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no MCP servers in " + empty, p.stderr)
        p = self.run_mcpbraid("import", "--from", "emacs")
        self.assertEqual(p.returncode, 2)
        p = self.run_mcpbraid("import", "--force", "--from", "cursor")
        self.assertEqual(p.returncode, 2)

    # ----------------------------------------------------------------- install

    def assert_installed(self, doc, editor, config):
        entry = doc[EDITORS[editor][1]]["mcpbraid"]
        self.assertEqual(entry["command"], os.path.realpath(mcptest.MCPBRAID))
        self.assertEqual(entry["args"], ["-c", config])

    def test_install_into_each_editor_keeps_the_rest_and_is_idempotent(self):
        for editor, (sample, key, names) in EDITORS.items():
            with self.subTest(editor=editor):
                path = self.copy_sample(editor)
                original = self.read(path)
                p = self.run_mcpbraid("install", "--editor", editor, "--file", path)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertIn("%s: added %s.mcpbraid: " % (path, key), p.stdout)
                self.assertIn("backup of %s: %s.bak" % (path, path), p.stdout)
                self.assertEqual(self.backups(path), [path + ".bak"])
                self.assertEqual(self.read(path + ".bak"), original)
                doc = json.loads(self.read(path))
                self.assert_installed(doc, editor, self.ours)
                servers = doc[key]
                for name in names:
                    self.assertIn(name, servers)
                if editor not in ("zed", "vscode"):  # the others are plain JSON
                    before = json.loads(original)
                    self.assertEqual(list(doc), list(before))
                    for k in before:
                        if k != key:
                            self.assertEqual(doc[k], before[k])
                if editor == "zed":
                    self.assertIn("its comments are not kept", p.stderr)
                    self.assertEqual(doc["vim_mode"], False)
                if editor == "claude-code":
                    self.assertEqual(doc["numStartups"], 42)
                    self.assertIn("/home/me/src/shop", doc["projects"])
                if editor == "vscode":
                    self.assertEqual(len(doc["inputs"]), 2)

                installed = self.read(path)
                p = self.run_mcpbraid("install", "--editor", editor, "--file", path)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertIn("already installed", p.stdout)
                self.assertEqual(self.read(path), installed)
                self.assertEqual(self.backups(path), [path + ".bak"])

    def test_install_into_the_usual_file_creates_it(self):
        path = os.path.join(self.home, USER_FILES["cursor"])
        p = self.run_mcpbraid("install", "--editor", "cursor", "--name", "braid", "-c",
                              "my.json")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.backups(path), [])
        doc = json.loads(self.read(path))
        self.assertEqual(list(doc["mcpServers"]), ["braid"])
        self.assertEqual(doc["mcpServers"]["braid"]["args"],
                         ["-c", os.path.join(self.home, "my.json")])
        self.assertIn("does not exist yet", p.stderr)

    def test_install_refuses_a_name_another_server_has(self):
        path = self.copy_sample("cursor")
        original = self.read(path)
        p = self.run_mcpbraid("install", "--editor", "cursor", "--file", path, "--name",
                              "browser")
        self.assertEqual(p.returncode, 1)
        self.assertIn("already has a server named \"browser\"", p.stderr)
        self.assertEqual(self.read(path), original)
        self.assertEqual(self.backups(path), [])

    def test_move_takes_the_servers_out_of_the_editor_and_into_ours(self):
        path = self.copy_sample("cursor")
        # Ours has one of them already, identical: fine.
        self.write(self.ours, {"separator": "__", "mcpServers": {
            "browser": {"command": "npx", "args": ["-y", "@playwright/mcp@latest", "--headless"]},
            "mine": {"command": "my-server"}}})
        before = self.read(self.ours)
        p = self.run_mcpbraid("install", "--editor", "cursor", "--file", path, "--move")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("moved 3 server(s) in: browser, stripe, sentry", p.stdout)
        doc = json.loads(self.read(path))
        self.assertEqual(list(doc["mcpServers"]), ["mcpbraid"])
        ours = json.loads(self.read(self.ours))
        self.assertEqual(list(ours["mcpServers"]), ["browser", "mine", "stripe", "sentry"])
        self.assertEqual(ours["separator"], "__")
        self.assertEqual(ours["mcpServers"]["stripe"]["env"],
                         {"STRIPE_SECRET_KEY": "${STRIPE_SECRET_KEY}"})
        self.assertEqual(self.read(self.ours + ".bak"), before)
        self.assertEqual(self.backups(path), [path + ".bak"])

        p = self.run_mcpbraid("install", "--editor", "cursor", "--file", path, "--move")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("already installed", p.stdout)
        self.assertEqual(len(self.backups(self.ours)), 1)

    def test_move_creates_our_config_and_leaves_zed_extension_servers(self):
        path = self.copy_sample("zed")
        p = self.run_mcpbraid("install", "--editor", "zed", "--file", path, "--move")
        self.assertEqual(p.returncode, 0, p.stderr)
        doc = json.loads(self.read(path))
        self.assertEqual(list(doc["context_servers"]), ["mcp-server-context7", "mcpbraid"])
        ours = json.loads(self.read(self.ours))
        self.assertEqual(list(ours["mcpServers"]), EDITORS["zed"][2])
        self.assertEqual(self.backups(self.ours), [])

    def test_move_refuses_a_clash_and_changes_nothing(self):
        path = self.copy_sample("windsurf")
        original = self.read(path)
        self.write(self.ours, {"mcpServers": {"git": {"command": "another-git"}}})
        before = self.read(self.ours)
        p = self.run_mcpbraid("install", "--editor", "windsurf", "--file", path, "--move")
        self.assertEqual(p.returncode, 1)
        self.assertIn("already has different server(s) named git", p.stderr)
        self.assertEqual(self.read(path), original)
        self.assertEqual(self.read(self.ours), before)
        self.assertEqual(self.backups(path) + self.backups(self.ours), [])

    def test_install_errors_name_the_file(self):
        bad = self.write(os.path.join(self.home, "bad.json"), "[1, 2]")
        p = self.run_mcpbraid("install", "--editor", "cursor", "--file", bad)
        self.assertEqual(p.returncode, 2)
        self.assertIn(bad + ": not a JSON object", p.stderr)
        p = self.run_mcpbraid("install", "--editor", "atom")
        self.assertEqual(p.returncode, 2)

    def test_help_names_the_editors(self):
        for command in ("import", "install"):
            p = self.run_mcpbraid(command, "--help")
            self.assertEqual(p.returncode, 0)
            self.assertIn("claude-desktop", p.stdout)
            self.assertIn("zed", p.stdout)


if __name__ == "__main__":
    mcptest.main()
