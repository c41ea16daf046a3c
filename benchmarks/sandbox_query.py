"""How fast the Salesforce emulator answers a 2,000-record query page with 50,000 opportunities.

Prints figures (not a test; these machines are noisy). Target: under 0.3 s per page.

    .venv/bin/python benchmarks/sandbox_query.py [--opportunities 50000] [--runs 5]
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import time
from datetime import date, timedelta

import requests

from bigsync_gui.sandbox import Sandbox
from bigsync_gui.sandbox import credentials as cred
from bigsync_gui.sandbox.world import World

QUERY = (
    "SELECT Id, Name, StageName, Amount, CloseDate, SystemModstamp, Account.Name "
    "FROM Opportunity WHERE SystemModstamp >= 2000-01-01T00:00:00Z ORDER BY SystemModstamp, Id"
)


def load(world: World, count: int) -> None:
    sf = world.salesforce
    accounts = [r["Id"] for r in sf.all_records("Account") if not r.get("IsDeleted")]
    stages = [r["ApiName"] for r in sf.all_records("OpportunityStage")]
    rng = random.Random(7)
    today = date.today()
    for n in range(count):
        sf.insert(
            "Opportunity",
            {
                "Name": f"Benchmark opportunity {n:05d}",
                "AccountId": rng.choice(accounts),
                "StageName": rng.choice(stages),
                "Amount": rng.randrange(5_000, 500_000),
                "CloseDate": (today + timedelta(days=rng.randrange(-200, 200))).isoformat(),
            },
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opportunities", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    world = World()
    started = time.perf_counter()
    load(world, args.opportunities)
    total = sum(1 for r in world.salesforce.all_records("Opportunity") if not r.get("IsDeleted"))
    print(f"loaded {args.opportunities} opportunities ({total} in the org) in {time.perf_counter() - started:.1f} s")

    with Sandbox(world=world) as sandbox:
        session = requests.Session()
        token = session.post(
            sandbox.salesforce_url + "/services/oauth2/token",
            data={
                "grant_type": "password",
                "client_id": cred.SF_CONSUMER_KEY,
                "username": cred.SF_USERNAME,
                "password": cred.SF_PASSWORD,
            },
            timeout=30,
        ).json()["access_token"]
        session.headers["Authorization"] = f"Bearer {token}"
        base = sandbox.salesforce_url

        first_pages, next_pages = [], []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            page = session.get(base + "/services/data/v67.0/query", params={"q": QUERY}, timeout=60).json()
            first_pages.append(time.perf_counter() - t0)
            rows = len(page["records"])
            while not page["done"]:
                t0 = time.perf_counter()
                page = session.get(base + page["nextRecordsUrl"], timeout=60).json()
                next_pages.append(time.perf_counter() - t0)
                rows += len(page["records"])
            assert rows == total, (rows, total)

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"query over {total} opportunities, pages of 2,000, {args.runs} runs:")
    print(
        f"  first page (evaluates the whole query): median {statistics.median(first_pages):.3f} s, "
        f"max {max(first_pages):.3f} s"
    )
    print(
        f"  following pages (nextRecordsUrl):       median {statistics.median(next_pages):.3f} s, "
        f"max {max(next_pages):.3f} s"
    )
    print(f"  peak RSS of the process: {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
