"""Write requirements.lock from the environment this runs in (README, 'The lock').

    python scripts/lock.py            # write requirements.lock and pin environment.yml's packages to it
    python scripts/lock.py --check    # exit 1 if the lock differs from what is installed
"""

import argparse
import re
import sys
from pathlib import Path

from tscompress.lock import LOCK_NAME, canonical, closure, direct, render, status

ROOT = Path(__file__).resolve().parent.parent


def pin_environment_yml(pins: dict[str, str]) -> None:
    """Pin every package line of environment.yml's pip section to the lock's version."""
    path = ROOT / "environment.yml"
    out = []
    for line in path.read_text().splitlines():
        m = re.match(r"^(\s*- )([A-Za-z0-9_.\-]+)(\S*)\s*$", line)
        if m and canonical(m.group(2)) in pins:
            line = f"{m.group(1)}{m.group(2)}=={pins[canonical(m.group(2))].split('+', 1)[0]}"
        out.append(line)
    path.write_text("\n".join(out) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare the lock with the installed versions")
    args = parser.parse_args()
    if args.check:
        differs = status(ROOT)["differs"]
        for name, (locked, installed) in differs.items():
            print(f"{name}: locked {locked}, installed {installed}")
        return 1 if differs else 0
    pins = closure()
    (ROOT / LOCK_NAME).write_text(render(pins, direct()))
    pin_environment_yml(pins)
    print(f"wrote {LOCK_NAME}: {len(pins)} packages; pinned environment.yml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
