"""Changes to Vigil's own files, reported by the real file-integrity plugin under the real vigild:
one that a reload (SIGHUP) then reads is the operator's and opens nothing; one no reload reads
opens the tampering incident when `rules.own_change_approval` ends (Docs/rules.md,
Docs/detectors/file-integrity.md). The watched folder is the configuration's templates, which a
reload reads."""
import json
import os
import shutil
import signal
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Notifiers"))
import daemon as vigild  # noqa: E402
from daemon import eventually  # noqa: E402

SKIP = vigild.available()
GRANT = '      file-integrity: { read_paths: [".", /etc, /root], emits: [configuration_tampering_detected] }'


def tampering(d):
    return [i for i in d.vigil("incidents", "list", "--json")
            if i.get("source") == "rule:security_events.configuration_tampering_detected"]


@unittest.skipIf(SKIP, SKIP or "")
class OwnFileApprovalTests(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="vigil-own-", dir="/var/tmp")
        os.chmod(self.folder, 0o755)
        self.templates = os.path.join(self.folder, "templates")
        shutil.copytree(os.path.join(vigild.ROOT, "Config", "templates"), self.templates)
        for dirpath, _dirs, files in os.walk(self.folder):
            os.chmod(dirpath, 0o755)
            for f in files:
                os.chmod(os.path.join(dirpath, f), 0o644)
        self.addCleanup(shutil.rmtree, self.folder, True)

    def daemon(self):
        return vigild.Daemon(
            plugins={"file-integrity": {"sandbox": {"read_paths": ["../sdk/python", self.templates]},
                                        "config": {"paths": [self.templates], "settle_seconds": 0.2}}},
            replace=[("directory: %s/Config/templates" % vigild.ROOT, "directory: %s" % self.templates),
                     ("own_change_approval: 1 minute", "own_change_approval: 3 seconds"),
                     (GRANT, GRANT.replace('[".", /etc, /root]', "[%s]" % self.templates))])

    def append(self, name, text):
        with open(os.path.join(self.templates, name), "a") as f:
            f.write(text)

    def test_a_change_a_reload_reads_is_approved_and_one_it_does_not_is_tampering(self):
        with self.daemon() as d:
            self.assertTrue(eventually(lambda: "plugin=file-integrity [VigilPluginHost] watching" in d.log(), 60),
                            d.log()[-3000:])
            approved = os.path.join(self.templates, "incident-communication.mustache")
            self.append("incident-communication.mustache", "\n")
            self.assertTrue(eventually(lambda: "path=%s" % approved in d.log() and "held until a reload approves it" in d.log(), 20),
                            d.log()[-3000:])
            d.proc.send_signal(signal.SIGHUP)
            self.assertTrue(eventually(lambda: "approved by a reload" in d.log(), 20), d.log()[-3000:])

            # The other template changes and no reload reads it: tampering, once the window ends.
            unapproved = os.path.join(self.templates, "service-restoration.mustache")
            self.append("service-restoration.mustache", "\n")
            found = eventually(lambda: [i for i in tampering(d) if i["labels"].get("path") == unapproved], 30)
            self.assertTrue(found, json.dumps(tampering(d))[-2000:] + d.log()[-3000:])
            self.assertIn("not approved by a reload in time", d.log())
            self.assertFalse([i for i in tampering(d) if i["labels"].get("path") == approved], json.dumps(tampering(d)))


if __name__ == "__main__":
    unittest.main()
