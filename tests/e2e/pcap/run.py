#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Run the pcap-in/pcap-out scenarios against a vnetfw binary.

Usage: run.py [--build DIR | --binary PATH] [-k SUBSTR]... [--workers N]
              [--list] [--gen-only DIR] [--keep] [--workdir DIR] [-v]

Prints one PASS/FAIL line per scenario (failed checks indented above it)
and closes with "pcap: N passed, M failed". Exits 1 when anything failed.
"""

import argparse
import os
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree clean
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import vfwpcap  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--build", default=os.environ.get("VNETFW_BUILD",
                                                      os.path.join(ROOT, "build")),
                    help="build directory (default: $VNETFW_BUILD or build/)")
    ap.add_argument("--binary", help="vnetfw binary (default: BUILD/app/vnetfw/vnetfw)")
    ap.add_argument("-k", dest="select", action="append", default=[],
                    help="run scenarios whose name contains SUBSTR")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--list", action="store_true", help="list scenarios")
    ap.add_argument("--gen-only", metavar="DIR",
                    help="only write each scenario's input pcaps and config")
    ap.add_argument("--keep", action="store_true",
                    help="keep every scenario's work directory")
    ap.add_argument("--workdir", help="where scenario directories go")
    ap.add_argument("--eal", action="append", default=[],
                    help="extra EAL argument (repeatable)")
    ap.add_argument("--label", default="pcap",
                    help="word before the closing counts line")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()

    scs = vfwpcap.load_scenarios()
    if a.select:
        scs = [s for s in scs if any(k in s["name"] for k in a.select)]
    scs = [s for s in scs if s["workers"] in (None, a.workers)]
    if a.list:
        for s in scs:
            print("%-28s %s" % (s["name"], s["doc"].splitlines()[0]
                                if s["doc"] else ""))
        return 0
    if a.gen_only:
        return gen_only(scs, a.gen_only)

    binary = a.binary or os.path.join(a.build, "app", "vnetfw", "vnetfw")
    if not os.access(binary, os.X_OK):
        print("FAIL %s: no vnetfw binary at %s (build first)" % (a.label, binary))
        print("%s: 0 passed, 1 failed" % a.label)
        return 1
    workdir = a.workdir or tempfile.mkdtemp(prefix="vnetfw-pcap-")
    os.makedirs(workdir, exist_ok=True)
    env = vfwpcap.Env(binary, workdir, workers=a.workers, eal_extra=a.eal,
                      keep=a.keep, verbose=a.verbose)
    print("pcap scenarios: %d, binary %s, workers %d, work dir %s" %
          (len(scs), binary, a.workers, workdir))
    passed = failed = xfailed = 0
    for s in scs:
        v = vfwpcap.run_scenario(env, s)
        if v in ("PASS", "XPASS"):
            passed += 1
        elif v == "XFAIL":
            xfailed += 1
        else:
            failed += 1
    if not failed and not a.keep:
        try:
            os.rmdir(workdir)
        except OSError:
            pass
    elif failed:
        print("failed scenarios keep their files under %s" % workdir)
    if xfailed:
        print("%d known binary bug(s) reported as XFAIL above" % xfailed)
    print("%s: %d passed, %d failed" % (a.label, passed, failed))
    return 1 if failed or not passed else 0


def gen_only(scs, outdir):
    """Write inputs and configs without running anything (dry run)."""
    for s in scs:
        run = vfwpcap.Run(s["name"])
        fn = s["fn"]
        import inspect
        if not inspect.isgeneratorfunction(fn):
            continue
        next(fn(run))
        d = os.path.join(outdir, s["name"])
        os.makedirs(d, exist_ok=True)
        for port, p in run.ports.items():
            vfwpcap.write_pcap(os.path.join(d, "in-%s.pcap" % port), p.inputs)
        with open(os.path.join(d, "config.yaml"), "w") as f:
            f.write(vfwpcap.load_config(s["config"],
                                        os.path.join(d, "ctl.sock")))
        print("%-28s vnet %3d frames, cluster %3d frames -> %s" %
              (s["name"], len(run.vnet.inputs), len(run.cluster.inputs), d))
    return 0


if __name__ == "__main__":
    sys.exit(main())
