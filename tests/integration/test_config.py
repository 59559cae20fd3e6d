"""Configuration names: every PMS_* variable that a supervisord program
section hands one of our daemons is one that daemon reads, with a valid
value (checked by the daemon itself: --check-env), and a name it does not
read is reported, never silently ignored."""

import configparser
import glob
import os
import re
import subprocess
import unittest

from pmstest import ENV

OURS = ("pms-patient", "pms-auth", "pms-billing", "pms-relay", "pms-analytics")


def programs():
    """(section, binary, {var: value}) of every rendered program section
    that runs one of our daemons."""
    out = []
    for path in glob.glob(os.path.join(ENV["PMS_RUN"], "etc", "supervisor.d", "*.conf")):
        conf = configparser.RawConfigParser()
        conf.read(path)
        for section in conf.sections():
            command = conf.get(section, "command", fallback="")
            binary = next((w for w in command.split() if os.path.basename(w) in OURS), None)
            if binary is None:
                continue
            env = dict(re.findall(r'(\w+)="([^"]*)"', conf.get(section, "environment",
                                                               fallback="")))
            out.append((section, binary, env))
    return out


def check_env(binary, env):
    return subprocess.run([binary, "--check-env"], env=dict(env, PATH="/usr/bin:/bin"),
                          capture_output=True, text=True, timeout=30)


class ConfigurationNames(unittest.TestCase):

    def test_every_daemon_is_under_supervision(self):
        found = {os.path.basename(b) for _, b, _ in programs()}
        self.assertEqual(found, set(OURS))

    def test_every_variable_a_program_sets_is_read(self):
        for section, binary, env in programs():
            self.assertTrue(env, section)
            r = check_env(binary, env)
            self.assertEqual(r.returncode, 0, (section, r.stderr))
            self.assertNotIn("does not read", r.stderr, section)

    def test_an_unknown_name_is_reported(self):
        for section, binary, env in programs():
            r = check_env(binary, dict(env, PMS_PATIENT_WORKRS="4"))
            self.assertEqual(r.returncode, 1, section)
            self.assertIn("PMS_PATIENT_WORKRS is set but %s does not read it"
                          % os.path.basename(binary), r.stderr)

    def test_a_bad_value_is_refused(self):
        r = check_env(os.path.join(ENV["PMS_PREFIX"], "sbin", "pms-relay"),
                      {"PMS_RELAY_BATCH": "0"})
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("PMS_RELAY_BATCH", r.stderr)

    def test_running_daemons_logged_no_unknown_name(self):
        for name in ("patient", "auth", "billing", "relay", "analytics"):
            with open(os.path.join(ENV["PMS_RUN"], "log", name + ".log"),
                      errors="replace") as f:
                self.assertNotIn("does not read it", f.read(), name)


if __name__ == "__main__":
    unittest.main()
