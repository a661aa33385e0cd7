#!/usr/bin/env python3
"""tidewatch against the Python reference pipeline (pyref), side by side, interleaved.

Run by deploy/local/bench-pipeline, which copies pyref to a scratch folder, makes its venv and
the posts, and builds tidewatch. Each round runs, in this order, on the same posts:

  py-embedded   pyref embedded.py: JSONL -> VADER -> ClickHouse (HTTP)
  tw-embedded   tidewatch run --posts: JSONL -> score -> store (+ detect) -> ClickHouse
  py-kafka      pyref: pre-produced posts.raw -> score -> posts.scored -> store -> ClickHouse
  tw-kafka      tidewatch: pre-produced posts.raw (tidewatch replay) -> `tidewatch score` and
                `tidewatch store` processes -> ClickHouse
  broker        raw librdkafka (confluent-kafka) produce, then consume of the same messages

Every Kafka scenario gets a fresh tansu broker (pyref's Broker: sqlite, deleted first) on
KAFKA_PORT. Kafka figures run from the start of the score and store processes until ClickHouse
holds every post. Prints the median of the rounds for each figure and the ratios of issue 13.
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--pyref", required=True, help="scratch copy of pyref (with venv/)")
parser.add_argument("--tidewatch", required=True, help="release binary")
parser.add_argument("--posts", required=True, help="canonical posts JSONL (pyref gen_posts.py)")
parser.add_argument("--count", type=int, required=True)
parser.add_argument("--runs", type=int, default=3)
parser.add_argument("--work", required=True, help="folder for configs, logs, results.json")
parser.add_argument("--stamp", required=True, help="unique suffix for databases and topics")
args = parser.parse_args()

os.environ["PYREF_DATABASE"] = f"pyref_{args.stamp}"
sys.path.insert(0, args.pyref)
import bench  # noqa: E402  (pyref's driver: Broker, run_embedded, run_kafka, run_broker)
from common import ClickHouse  # noqa: E402

bench.N = args.count
N = args.count
TIDEWATCH = os.path.abspath(args.tidewatch)
POSTS = os.path.abspath(args.posts)
WORK = os.path.abspath(args.work)
ch = ClickHouse()


def cpu_and_peak_rss(pid):
    """(user+sys CPU seconds, peak RSS in MB) of a running process, from /proc."""
    cpu = bench.proc_cpu_s(pid)
    peak_kb = 0
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                peak_kb = int(line.split()[1])
    return round(cpu, 2), round(peak_kb / 1024, 1)


def stored(database):
    return int(ch.scalar(f"SELECT count() FROM {database}.posts FINAL"))


def config(name, database, kafka=None):
    path = os.path.join(WORK, f"{name}.toml")
    with open(path, "w") as f:
        if kafka:
            f.write(f'[kafka]\nbrokers = "{kafka}"\ntopic_prefix = "{database}."\n'
                    f'group_prefix = "{database}"\n')
        # No [[watch]]: every post is stored, as pyref stores every post.
        f.write(f'[clickhouse]\ndatabase = "{database}"\n[api]\nlisten = ""\n')
    return path


def run_tw_embedded(tag):
    database = f"tw_{args.stamp}_{tag}"
    cfg = config(tag, database)
    timing = os.path.join(WORK, f"{tag}.time")
    c0 = bench.proc_cpu_s(bench.clickhouse_pid())
    t0 = time.time()
    with open(os.path.join(WORK, f"{tag}.log"), "w") as log:
        subprocess.run(["/usr/bin/time", "-v", "-o", timing, TIDEWATCH, "--config", cfg, "run",
                        "--posts", POSTS], stdout=log, stderr=log, check=True,
                       env={**os.environ, "RUST_LOG": "warn"})
    wall = time.time() - t0
    ch_cpu = bench.proc_cpu_s(bench.clickhouse_pid()) - c0
    text = open(timing).read()
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", text).group(1))
    system = float(re.search(r"System time \(seconds\): ([\d.]+)", text).group(1))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    rows = stored(database)
    ch.execute(f"DROP DATABASE IF EXISTS {database}")
    if rows != N:
        raise RuntimeError(f"{tag}: ClickHouse holds {rows} of {N} posts")
    return {"wall_s": round(wall, 3), "rate_posts_s": round(N / wall), "cpu_s": round(user + system, 2),
            "maxrss_mb": round(rss / 1024, 1), "cpu_s_clickhouse": round(ch_cpu, 2), "rows": rows}


def run_tw_kafka(tag):
    database = f"tw_{args.stamp}_{tag}"
    cfg = config(tag, database, kafka=bench.BOOTSTRAP)
    env = {**os.environ, "RUST_LOG": "warn"}
    broker = bench.Broker()
    logs = []
    processes = {}
    try:
        subprocess.run([TIDEWATCH, "--config", cfg, "migrate"], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        t_produce = time.time()
        subprocess.run([TIDEWATCH, "--config", cfg, "replay", "--posts", POSTS], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        produce_s = time.time() - t_produce
        b0, c0 = broker.cpu_s(), bench.proc_cpu_s(bench.clickhouse_pid())
        t0 = time.time()
        for stage in ("score", "store"):
            log = open(os.path.join(WORK, f"{tag}.{stage}.log"), "w")
            logs.append(log)
            processes[stage] = subprocess.Popen([TIDEWATCH, "--config", cfg, stage], env=env,
                                                stdout=log, stderr=log)
        deadline = t0 + max(600, N / 500)
        while stored(database) < N:
            for stage, process in processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{tag}: tidewatch {stage} exited {process.returncode}")
            if time.time() > deadline:
                raise RuntimeError(f"{tag}: ClickHouse holds {stored(database)} of {N} posts")
            time.sleep(0.1)
        e2e = time.time() - t0
        usage = {stage: cpu_and_peak_rss(process.pid) for stage, process in processes.items()}
        broker_cpu = round(broker.cpu_s() - b0, 2)
        ch_cpu = round(bench.proc_cpu_s(bench.clickhouse_pid()) - c0, 2)
    finally:
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in logs:
            log.close()
        broker.stop()
    rows = stored(database)
    ch.execute(f"DROP DATABASE IF EXISTS {database}")
    return {"produce_msgs_s": round(N / produce_s), "e2e_s": round(e2e, 3), "e2e_posts_s": round(N / e2e),
            "score": {"cpu_s": usage["score"][0], "maxrss_mb": usage["score"][1]},
            "store": {"cpu_s": usage["store"][0], "maxrss_mb": usage["store"][1]},
            "e2e_cpu_s_broker": broker_cpu, "e2e_cpu_s_clickhouse": ch_cpu, "rows": rows}


SCENARIOS = [
    ("py-embedded", lambda tag: bench.run_embedded(ch, tag, POSTS)),
    ("tw-embedded", run_tw_embedded),
    ("py-kafka", lambda tag: bench.run_kafka(ch, tag, POSTS)),
    ("tw-kafka", run_tw_kafka),
    ("broker", lambda tag: bench.run_broker(ch, tag, POSTS)),
]


def main():
    os.makedirs(os.path.join(args.pyref, "runs"), exist_ok=True)
    results = {name: [] for name, _ in SCENARIOS}
    for round_number in range(args.runs):
        for name, scenario in SCENARIOS:
            tag = f"{name.replace('-', '_')}{round_number}"
            result = scenario(tag)
            results[name].append(result)
            print(f"[round {round_number}] {name}: {json.dumps(result)}", file=sys.stderr, flush=True)
    ch.execute(f"DROP DATABASE IF EXISTS pyref_{args.stamp}")
    with open(os.path.join(WORK, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    report(results)


def median(runs, *path):
    values = []
    for run in runs:
        for key in path:
            run = run[key]
        values.append(run)
    return statistics.median(values)


def report(r):
    per_100k = 100_000 / N
    py_embedded = median(r["py-embedded"], "rate_posts_s")
    tw_embedded = median(r["tw-embedded"], "rate_posts_s")
    py_kafka = median(r["py-kafka"], "e2e_posts_s")
    tw_kafka = median(r["tw-kafka"], "e2e_posts_s")
    raw_consume = median(r["broker"], "consume", "rate_msgs_s")
    print(f"\n{N:,} posts, median of {len(r['broker'])} interleaved rounds\n")
    print("| path | Python reference | tidewatch | ratio | goal |")
    print("| --- | ---: | ---: | ---: | --- |")
    print(f"| embedded: JSONL -> score -> ClickHouse, no broker | {py_embedded:,.0f} posts/s | "
          f"{tw_embedded:,.0f} posts/s | {tw_embedded / py_embedded:.2f}x | >= 15x, >= 200,000 posts/s |")
    print(f"| through the broker: pre-produced posts -> score -> store -> ClickHouse | {py_kafka:,.0f} posts/s | "
          f"{tw_kafka:,.0f} posts/s | {tw_kafka / py_kafka:.2f}x | >= 4x |")
    print(f"| the broker's ceiling: raw librdkafka consume | {raw_consume:,.0f} msgs/s | "
          f"{100 * tw_kafka / raw_consume:.0f}% of it | | >= 50% |")
    print(f"| CPU s per 100k posts, score | {median(r['py-kafka'], 'score', 'cpu_s') * per_100k:.1f} | "
          f"{median(r['tw-kafka'], 'score', 'cpu_s') * per_100k:.1f} | | |")
    print(f"| CPU s per 100k posts, store | {median(r['py-kafka'], 'store', 'cpu_s') * per_100k:.1f} | "
          f"{median(r['tw-kafka'], 'store', 'cpu_s') * per_100k:.1f} | | |")
    print(f"| CPU s per 100k posts, embedded (all stages) | {median(r['py-embedded'], 'cpu_s') * per_100k:.1f} | "
          f"{median(r['tw-embedded'], 'cpu_s') * per_100k:.1f} | | |")
    print(f"| max RSS, embedded process | {max(x['maxrss_mb'] for x in r['py-embedded'])} MB | "
          f"{max(x['maxrss_mb'] for x in r['tw-embedded'])} MB | | |")
    for stage in ("score", "store"):
        print(f"| max RSS, {stage} process | {max(x[stage]['maxrss_mb'] for x in r['py-kafka'])} MB | "
              f"{max(x[stage]['maxrss_mb'] for x in r['tw-kafka'])} MB | | |")
    print(f"\nraw librdkafka produce {median(r['broker'], 'produce', 'rate_msgs_s'):,.0f} msgs/s; "
          f"pre-produce: pyref {median(r['py-kafka'], 'produce', 'rate_msgs_s'):,.0f} msgs/s, "
          f"tidewatch replay {median(r['tw-kafka'], 'produce_msgs_s'):,.0f} msgs/s")
    print(f"ClickHouse CPU s per 100k posts: embedded py {median(r['py-embedded'], 'cpu_s_clickhouse') * per_100k:.1f} "
          f"/ tw {median(r['tw-embedded'], 'cpu_s_clickhouse') * per_100k:.1f}; "
          f"kafka py {median(r['py-kafka'], 'e2e_cpu_s_clickhouse') * per_100k:.1f} "
          f"/ tw {median(r['tw-kafka'], 'e2e_cpu_s_clickhouse') * per_100k:.1f}; "
          f"broker during kafka py {median(r['py-kafka'], 'e2e_cpu_s_broker') * per_100k:.1f} "
          f"/ tw {median(r['tw-kafka'], 'e2e_cpu_s_broker') * per_100k:.1f}")


if __name__ == "__main__":
    main()
