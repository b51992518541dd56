#!/usr/bin/python3
"""Reads l2tpvpnd's /status JSON on stdin and prints one answer, for the VM scenarios' shell checks.

  up                         sessions in state "up"
  sessions                   all sessions
  tunnels                    L2TP tunnels in state established
  max_per_tunnel             most sessions in one established tunnel
  user NAME FIELD            FIELD of NAME's session ("-" when none; the first if several)
  users_up                   space-separated sorted users of the "up" sessions
  counter NAME               ppp.counters[NAME]
  drop NAME                  l2tp.drops[NAME] (0 when absent)
  path KEY[.KEY...]          any value by path (list indexes allowed)
  user_json NAME FIELD       FIELD of NAME's session as JSON ("-" when there is no such session)
  tunnels_from IP [STATE]    L2TP tunnels whose peer address is IP (in any state, or in STATE)
  validate SCHEMA_FILE       prints "valid" (exit 0) or the first schema violation (exit 1)
"""
import json
import sys


def main(argv):
    s = json.load(sys.stdin)
    sessions = s.get("sessions", [])
    tunnels = [t for t in s.get("l2tp", {}).get("tunnels", []) if t.get("state") == "established"]
    q = argv[1] if len(argv) > 1 else ""
    if q == "up":
        print(sum(1 for x in sessions if x.get("state") == "up"))
    elif q == "sessions":
        print(len(sessions))
    elif q == "tunnels":
        print(len(tunnels))
    elif q == "max_per_tunnel":
        print(max((len(t.get("sessions", [])) for t in tunnels), default=0))
    elif q == "user":
        for x in sessions:
            if x.get("user") == argv[2]:
                v = x.get(argv[3])
                print("-" if v is None else v)
                return 0
        print("-")
    elif q == "users_up":
        print(" ".join(sorted(x["user"] for x in sessions if x.get("state") == "up" and x.get("user"))))
    elif q == "counter":
        print(s.get("ppp", {}).get("counters", {}).get(argv[2], 0))
    elif q == "drop":
        print(s.get("l2tp", {}).get("drops", {}).get(argv[2], 0))
    elif q == "path":
        v = s
        for k in argv[2].split("."):
            v = v[int(k)] if isinstance(v, list) else v.get(k)
        print(json.dumps(v) if isinstance(v, (dict, list)) else v)
    elif q == "user_json":
        for x in sessions:
            if x.get("user") == argv[2]:
                print(json.dumps(x.get(argv[3]), sort_keys=True))
                return 0
        print("-")
    elif q == "tunnels_from":
        all_tunnels = s.get("l2tp", {}).get("tunnels", [])
        print(sum(1 for t in all_tunnels if t.get("peer", "").rsplit(":", 1)[0] == argv[2] and
                  (len(argv) < 4 or t.get("state") == argv[3])))
    elif q == "validate":
        import jsonschema  # python3-jsonschema; only this query needs it

        with open(argv[2]) as f:
            schema = json.load(f)
        try:
            jsonschema.validate(s, schema)
        except jsonschema.ValidationError as e:
            print("invalid at /%s: %s" % ("/".join(str(p) for p in e.absolute_path), e.message))
            return 1
        print("valid")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
