# SPDX-License-Identifier: BSD-3-Clause
"""`vnetfw --check`: a good config validates (exit 0), a bad one exits 1
with FILE:LINE:COL: messages; nothing starts."""

import fcntl
import os
import re
import shutil
import subprocess
import tempfile

from vfwpcap import load_config, run_check_mode, scenario

BAD = """\
ports:
  vnet:    {device: net_pcap0, address: 10.0.1.4/24, gateway: 10.0.1.1}
  cluster: {device: net_pcap1, address: 10.240.0.300/16}
routes:
  - {name: r1, prefix: 10.66.0.0/16, next_hop_type: None}
  - {name: r1, prefix: 10.67.0.0/16, next_hop_type: Bogus}
no_such_key: 1
"""


@scenario("config-check")
def config_check(s, env):
    """--check accepts the scenario config and rejects a broken one with
    located errors."""
    rc, out, _ = run_check_mode(env, load_config("base.yaml", "/tmp/unused.sock"),
                                "good.yaml", "good")
    s.eq(rc, 0, "--check on configs/base.yaml exits 0")
    if rc != 0:
        print("    | " + "\n    | ".join(out.splitlines()[-10:]))
    rc, out, path = run_check_mode(env, BAD, "bad.yaml", "bad")
    s.eq(rc, 1, "--check on a broken config exits 1")
    located = re.findall(r"bad\.yaml:(\d+):(\d+): (.+)", out)
    lines = sorted({int(line) for line, _, _ in located})
    s.check(len(located) >= 3, "at least 3 errors reported as FILE:LINE:COL: message",
            "output: %r" % out[-600:])
    for want, what in ((3, "bad address"), (6, "duplicate name / bad next_hop_type"),
                       (7, "unknown key")):
        s.check(want in lines, "error located on line %d (%s)" % (want, what),
                "lines reported: %s" % lines)
    s.check("fw_" not in out and "EAL: Started" not in out,
            "nothing started in --check mode")

    # Application options before "--" (or without it): exit 2 and say why,
    # not only the usage text.
    r = subprocess.run([env.binary, "-c", path, "--check"], capture_output=True,
                       text=True, timeout=30)
    s.eq(r.returncode, 2, "-c FILE --check without '--' exits 2")
    s.check("go after it" in r.stderr, "and says the options go after '--'",
            "stderr: %r" % r.stderr[:300])

    t = tempfile.mkdtemp(prefix="cli-", dir=env.workdir)
    prefixes = ["vfwcc%d" % os.getpid(), "vfwcm%d" % os.getpid()]
    try:
        cli_errors(s, env, t, prefixes)
    finally:
        if not env.keep:
            shutil.rmtree(t, ignore_errors=True)
        for prefix in prefixes:  # the EAL's runtime directories
            shutil.rmtree("/var/run/dpdk/" + prefix, ignore_errors=True)


def cli_errors(s, env, t, prefixes):
    """Start-up errors that name their cure. Files go to t."""
    # More --workers than the EAL has worker lcores: exit 1, naming an -l
    # that gives that many (not "-l 0,1", which gives one).
    good = os.path.join(t, "workers3.yaml")
    with open(good, "w") as f:
        f.write(load_config("base.yaml", "/tmp/unused.sock"))
    r = subprocess.run([env.binary, "-l", "0,1", "--no-pci", "--no-huge", "-m", "128",
                        "--file-prefix", prefixes[0], "--", "-c", good,
                        "--workers", "3"], capture_output=True, text=True, timeout=60)
    s.eq(r.returncode, 1, "--workers 3 with -l 0,1 exits 1")
    s.check("need 3 worker lcores" in r.stderr and "-l 0-3" in r.stderr,
            "and names -l 0-3", "stderr: %r" % r.stderr[-300:])

    # A memif client port with no server listening: vnetfw exits 1 and
    # says what a memif client needs (the PMD's own error is EPERM).
    memif = os.path.join(t, "memif.yaml")
    with open(memif, "w") as f:
        f.write("ports:\n"
                "  vnet: {device: net_memif0, address: 10.0.1.4/24}\n"
                "  cluster: {device: net_memif1, address: 10.240.0.4/16}\n"
                "control: {socket: %s}\n" % os.path.join(t, "memif.sock"))
    cmd = [env.binary, "-l", "0,1", "--no-pci", "--no-huge", "-m", "256",
           "--file-prefix", prefixes[1]]
    eal = cmd[:]
    for i in (0, 1):
        cmd.append("--vdev=net_memif%d,role=client,id=0,socket=%s" %
                   (i, os.path.join(t, "none%d.memif" % i)))
    r = subprocess.run(cmd + ["--", "-c", memif], capture_output=True, text=True,
                       timeout=60)
    s.eq(r.returncode, 1, "a memif client with no server: exits 1")
    s.check("start its server first" in r.stderr, "and says to start the server first",
            "stderr: %r" % r.stderr[-300:])

    # The EAL refuses a --file-prefix a running process holds, leaving
    # rte_errno 0: vnetfw points at the EAL's lines, not at "Success".
    d = "/var/run/dpdk/" + prefixes[1]
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config"), "a+") as held:
        fcntl.lockf(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        r = subprocess.run(eal + ["--", "-c", memif], capture_output=True,
                           text=True, timeout=60)
    s.eq(r.returncode, 1, "--file-prefix in use: exits 1")
    s.check("EAL init failed: see the EAL lines above" in r.stderr and
            "Success" not in r.stderr, "and does not say 'Success'",
            "stderr: %r" % r.stderr[-300:])
